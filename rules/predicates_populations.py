"""Special-population predicates: pregnancy, labelled organ-impairment doses, baseline liver
tests. The facts come from :mod:`rules.populations`; the label statements from the cited tables
of :mod:`rules.populations_tables`.

Registered in the closed registry of :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from rules.patient import TherapyExposure, TherapyStatus
from rules.populations import (
    LAB_NAMES,
    LabKind,
    LabResult,
    PregnancyRecord,
    PregnancyStatus,
    RenalImpairmentRecord,
)
from rules.populations_tables import OrganDose, fetal_toxicity_table, organ_dose_table
from rules.predicates import (
    Context,
    Findings,
    NoParams,
    Params,
    exposure_matches,
    mg_per_day,
    predicate,
)
from rules.predicates_orders import considered_drafts, draft_finding
from rules.results import Finding

ORDER_HOOKS = frozenset({"order-select", "order-sign"})


def _age_days(when: date, as_of: date) -> int:
    return (as_of - when).days


# ---------------------------------------------------------------------------------------------
# pregnancy


def current_pregnancy(
    records: tuple[PregnancyRecord, ...], as_of: date, window_days: int
) -> PregnancyRecord | None:
    """The most recent pregnancy record that still stands on ``as_of``.

    A dated record counts for ``window_days`` after its date (a pregnancy does not last
    longer); a later dated "not pregnant" record ends it. An undated pregnancy Condition
    (active, not abated) counts unless a "not pregnant" record is dated within the window.
    """
    negatives = [
        r.date.lower_bound()
        for r in records
        if r.status is PregnancyStatus.NOT_PREGNANT and r.date is not None
    ]
    standing: list[PregnancyRecord] = []
    for record in records:
        if record.status is not PregnancyStatus.PREGNANT:
            continue
        if record.date is None:
            if record.source_kind == "condition" and not any(
                0 <= _age_days(d, as_of) <= window_days for d in negatives
            ):
                standing.append(record)
            continue
        start = record.date.lower_bound()
        if not 0 <= _age_days(start, as_of) <= window_days:
            continue
        if any(start < d <= as_of for d in negatives):
            continue
        standing.append(record)
    if not standing:
        return None
    return max(
        standing,
        key=lambda r: (r.date.lower_bound() if r.date else date.min, r.source_ref),
    )


class PregnantParams(Params):
    window_days: int = Field(default=300, ge=30, le=366)


@predicate("pregnant", PregnantParams)
def pregnant(ctx: Context, a: PregnantParams) -> Findings:
    """A current pregnancy is recorded (Condition or pregnancy-status Observation)."""
    record = current_pregnancy(ctx.patient.pregnancy, ctx.as_of, a.window_days)
    if record is None:
        return ()
    when = f"recorded {record.date}" if record.date else "date not recorded"
    what = "Condition" if record.source_kind == "condition" else "Observation"
    return (Finding(f"{record.text} ({what}, {when})", record.source_ref),)


def _focus_exposures(ctx: Context) -> tuple[tuple[TherapyExposure, bool], ...]:
    """(exposure, is_draft): the drafts in focus on order hooks, current therapy otherwise."""
    if ctx.hook in ORDER_HOOKS:
        return tuple((d, True) for d in considered_drafts(ctx))
    return tuple(
        (e, False)
        for e in ctx.patient.historical_exposures()
        if e.status in (TherapyStatus.ACTIVE, TherapyStatus.ON_HOLD) and not e.has_ended
    )


def _name(exposure: TherapyExposure) -> str:
    name = exposure.agent.ingredient or (exposure.code.display if exposure.code else None)
    name = name or "Drug"
    return name[:1].upper() + name[1:]


@predicate("embryo_fetal_toxicity_label", NoParams, yields_order=True)
def embryo_fetal_toxicity_label(ctx: Context, a: NoParams) -> Findings:
    """A drafted (order hooks) or current drug whose label states embryo-fetal toxicity."""
    table = fetal_toxicity_table()
    findings: list[Finding] = []
    for exposure, is_draft in _focus_exposures(ctx):
        entry = next((d for d in table.drugs if exposure_matches(ctx, d.drug, exposure)), None)
        if entry is None:
            continue
        cited = f" ({entry.cited})" if entry.cited else ""
        text = f"{_name(exposure)} label{cited}: {entry.statement}"
        if entry.contraception:
            text += f"; {entry.contraception}"
        order = (exposure.order_id or exposure.source_ref) if is_draft else None
        findings.append(Finding(text, exposure.source_ref, order))
    return tuple(findings)


# ---------------------------------------------------------------------------------------------
# organ function


def latest_lab(ctx: Context, kind: LabKind, window_days: int) -> LabResult | None:
    """The most recent result of ``kind`` dated within ``window_days`` before ``as_of``
    (once per evaluation: several rules ask for the same result)."""
    key = ("latest-lab", (kind, window_days))
    if key not in ctx.derived:
        ctx.derived[key] = _latest_lab(ctx, kind, window_days)
    found: LabResult | None = ctx.derived[key]
    return found


def _latest_lab(ctx: Context, kind: LabKind, window_days: int) -> LabResult | None:
    recent = [
        lab
        for lab in ctx.patient.labs
        if lab.kind is kind
        and lab.date is not None
        and 0 <= _age_days(lab.date.lower_bound(), ctx.as_of) <= window_days
    ]
    if not recent:
        return None
    return max(recent, key=lambda lab: (lab.date.lower_bound() if lab.date else date.min,
                                        lab.source_ref))  # fmt: skip


def _number(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _lab_text(lab: LabResult) -> str:
    ratio = lab.times_uln
    times = f", {_number(ratio.quantize(Decimal('0.1')))}x ULN" if ratio is not None else ""
    return f"{LAB_NAMES[lab.kind]} {_number(lab.value)} {lab.unit}{times} on {lab.date}"


def hepatic_category(bilirubin: LabResult) -> str | None:
    """NCI-ODWG moderate (>1.5-3 x ULN) or severe (>3 x ULN) from total bilirubin alone; the
    mild category (which also needs AST) changes no labelled dose here."""
    ratio = bilirubin.times_uln
    if ratio is None:
        return None
    if ratio > 3:
        return "severe"
    if ratio > Decimal("1.5"):
        return "moderate"
    return None


def _row_applies(row: OrganDose, category: str | None, crcl: LabResult | None) -> bool:
    if row.scale == "nci-odwg":
        return category is not None and category in row.categories
    if row.scale == "child-pugh":
        # A hedge, never a derivation: bilirubin >1.5x ULN prompts the Child-Pugh B/C rows,
        # >3x ULN the class-C-only rows.
        wanted = {"moderate", "severe"} if "B" in row.categories else {"severe"}
        return category in wanted
    if crcl is None:
        return False
    low = Decimal(str(row.crcl_from)) if row.crcl_from is not None else Decimal(0)
    high = Decimal(str(row.crcl_below)) if row.crcl_below is not None else None
    return crcl.value >= low and (high is None or crcl.value < high)


def _lab_finding(row: OrganDose, lab: LabResult, order: str) -> Finding:
    text = _lab_text(lab)
    if row.scale == "child-pugh":
        text += ": no Child-Pugh class recorded; assess it before dosing"
    elif row.scale == "nci-odwg":
        text += f": {row.band.split(' (')[0]}"
    return Finding(text, lab.source_ref, order)


def _label_finding(row: OrganDose, draft: TherapyExposure, order: str) -> Finding:
    cited = f" ({row.cited})" if row.cited else ""
    return Finding(f"{_name(draft)} label{cited}, {row.band}: {row.label}", None, order)


class OrganParams(Params):
    organ: Literal["hepatic", "renal"]
    refs: ClassVar[dict[str, tuple[str, ...]]] = {}


@predicate("organ_impairment_dose", OrganParams, yields_order=True)
def organ_impairment_dose(ctx: Context, a: OrganParams) -> Findings:
    """A draft order whose label changes the dose for the patient's recent hepatic (total
    bilirubin vs its own ULN) or renal (creatinine clearance) result."""
    table = organ_dose_table()
    kind = LabKind.BILIRUBIN_TOTAL if a.organ == "hepatic" else LabKind.CREATININE_CLEARANCE
    lab = latest_lab(ctx, kind, table.lab_window_days)
    if lab is None:
        return ()
    category = hepatic_category(lab) if a.organ == "hepatic" else None
    crcl = lab if a.organ == "renal" else None
    if a.organ == "hepatic" and category is None:
        return ()
    findings: list[Finding] = []
    for draft in considered_drafts(ctx):
        for row in table.rows:
            if row.organ != a.organ or not exposure_matches(ctx, row.drug, draft):
                continue
            if not _row_applies(row, category, crcl):
                continue
            dose = mg_per_day(draft)
            if (
                row.action == "reduce"
                and row.max_mg_per_day is not None
                and dose is not None
                and dose <= Decimal(str(row.max_mg_per_day))
            ):
                continue  # already at or below the labelled dose
            order = draft.order_id or draft.source_ref
            findings.append(_label_finding(row, draft, order))
            findings.append(_lab_finding(row, lab, order))
            findings.append(draft_finding(draft))
    return tuple(findings)


def _overlaps(row: OrganDose, record: RenalImpairmentRecord) -> bool:
    """The row's CrCl band and the stage's eGFR band overlap (both half-open, mL/min)."""
    low = Decimal(str(row.crcl_from)) if row.crcl_from is not None else Decimal(0)
    high = Decimal(str(row.crcl_below)) if row.crcl_below is not None else None
    below_high = high is None or record.egfr_from < high
    above_low = record.egfr_below is None or low < record.egfr_below
    return below_high and above_low


def _most_severe(records: tuple[RenalImpairmentRecord, ...]) -> RenalImpairmentRecord | None:
    if not records:
        return None
    return min(records, key=lambda r: (r.egfr_from, not r.dialysis, r.source_ref))


def _condition_finding(record: RenalImpairmentRecord, order: str) -> Finding:
    when = f", recorded {record.date}" if record.date else ""
    text = (
        f"{record.text} (Condition{when}): implies {record.band}, not a creatinine clearance; "
        "calculate or measure CrCl before dosing"
    )
    return Finding(text, record.source_ref, order)


def _egfr_finding(ctx: Context, window_days: int, order: str) -> Finding | None:
    """The latest eGFR, as context: never a dose basis (the label bands are CrCl)."""
    egfr = latest_lab(ctx, LabKind.EGFR, window_days)
    if egfr is None:
        return None
    text = f"{_lab_text(egfr)} (context only: an eGFR is not the label's creatinine clearance)"
    return Finding(text, egfr.source_ref, order)


@predicate("renal_condition_dose", NoParams, yields_order=True)
def renal_condition_dose(ctx: Context, a: NoParams) -> Findings:
    """A draft order whose label changes the dose in renal impairment, when no recent creatinine
    clearance is on record but a current Condition states CKD stage 3-5, end-stage renal
    disease or dialysis: the label rows whose CrCl band overlaps the stage's eGFR band."""
    table = organ_dose_table()
    if latest_lab(ctx, LabKind.CREATININE_CLEARANCE, table.lab_window_days) is not None:
        return ()  # a clearance decides (organ_impairment_dose)
    record = _most_severe(ctx.patient.renal_conditions)
    if record is None:
        return ()
    findings: list[Finding] = []
    for draft in considered_drafts(ctx):
        rows = [
            row
            for row in table.rows
            if row.organ == "renal"
            and exposure_matches(ctx, row.drug, draft)
            and _overlaps(row, record)
            and not (row.not_on_dialysis and record.dialysis)
        ]
        dose = mg_per_day(draft)
        rows = [
            row
            for row in rows
            if not (
                row.action == "reduce"
                and row.max_mg_per_day is not None
                and dose is not None
                and dose <= Decimal(str(row.max_mg_per_day))
            )
        ]
        if not rows:
            continue
        order = draft.order_id or draft.source_ref
        findings.append(_condition_finding(record, order))
        findings.extend(_label_finding(row, draft, order) for row in rows)
        egfr = _egfr_finding(ctx, table.lab_window_days, order)
        if egfr is not None:
            findings.append(egfr)
        findings.append(draft_finding(draft))
    return tuple(findings)


_LIVER_TESTS = (LabKind.ALT, LabKind.AST, LabKind.BILIRUBIN_TOTAL)


class BaselineParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    window_days: int = Field(default=30, ge=1, le=180)


@predicate("liver_tests_missing", BaselineParams, yields_order=True)
def liver_tests_missing(ctx: Context, a: BaselineParams) -> Findings:
    """A draft order of the drug while ALT, AST or total bilirubin has no result in the window.

    Worded as "not sent or found", never as absent from the record; when the laboratory search
    could not be run at all (``labs_searched`` False) the finding says so."""
    drafts = [d for d in considered_drafts(ctx) if exposure_matches(ctx, a.drug, d)]
    if not drafts:
        return ()
    missing = [k for k in _LIVER_TESTS if latest_lab(ctx, k, a.window_days) is None]
    if not missing:
        return ()
    names = ", ".join(LAB_NAMES[k] for k in missing)
    found: list[Finding] = [draft_finding(d) for d in drafts]
    if ctx.patient.labs_searched:
        found.append(
            Finding(
                f"No result sent or found for the {a.window_days} days before this order: {names}"
            )
        )
    else:
        found.append(
            Finding(
                f"Not sent, and the search for laboratory results could not be run (results may "
                f"exist in the record): {names}"
            )
        )
    found.extend(
        Finding(f"On record: {_lab_text(lab)}", lab.source_ref)
        for k in _LIVER_TESTS
        if k not in missing and (lab := latest_lab(ctx, k, a.window_days)) is not None
    )
    return tuple(found)
