"""Disease-setting predicates: extent of disease, resection, GIST risk, treatment intent.

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from rules.extent import Extent, GistRisk, ResidualTumour
from rules.gist_risk import risk_assessments
from rules.patient import StopReason, TherapyStatus, TreatmentIntent
from rules.predicates import (
    Context,
    Findings,
    NoParams,
    Params,
    exposure_matches,
    exposure_text,
    predicate,
)
from rules.results import Finding


def setting_findings(ctx: Context) -> Findings:
    """The current setting as findings: the first names it, the others are its evidence."""
    return tuple(Finding(text, ref) for text, ref in ctx.setting.findings())


class ExtentParams(Params):
    any: list[Extent] = Field(min_length=1)


@predicate("extent", ExtentParams)
def extent(ctx: Context, a: ExtentParams) -> Findings:
    """The current extent of disease is one of the listed values (``unknown`` included)."""
    if ctx.setting.extent not in a.any:
        return ()
    return setting_findings(ctx)


@predicate("setting_on_record", NoParams)
def setting_on_record(ctx: Context, a: NoParams) -> Findings:
    """Always true: states the current disease setting (or that it is not recorded)."""
    return setting_findings(ctx)


class ResectedParams(Params):
    residual: list[ResidualTumour] = Field(
        default_factory=list, description="accepted residual-tumour classes; empty: any or none"
    )
    residual_known: bool = False


@predicate("resected", ResectedParams)
def resected(ctx: Context, a: ResectedParams) -> Findings:
    """The most recent resection on record, optionally with one of the residual classes."""
    dated = sorted(
        ctx.patient.resections,
        key=lambda r: (r.date.lower_bound() if r.date else None) or ctx.as_of.min,
    )
    if not dated:
        return ()
    last = dated[-1]
    if a.residual_known and last.residual is None:
        return ()
    if a.residual and last.residual is not None and last.residual not in a.residual:
        return ()
    when = f" on {last.date}" if last.date is not None else ""
    margin = f", {last.residual.value}" if last.residual is not None else ", residual not coded"
    found = [Finding(f"Resection{when}: {last.text}{margin}", last.source_ref)]
    if last.residual_ref and last.residual_ref != last.source_ref:
        found.append(Finding(f"Residual tumour {last.residual}", last.residual_ref))
    return tuple(found)


class GistRiskParams(Params):
    any: list[GistRisk] = Field(min_length=1)


@predicate("gist_risk", GistRiskParams)
def gist_risk(ctx: Context, a: GistRiskParams) -> Findings:
    """The most recent GIST risk category (recorded, or derived from the pathology) is listed."""
    assessments = risk_assessments(ctx.patient)
    if not assessments:
        return ()
    latest = assessments[-1]
    if latest.risk not in a.any:
        return ()
    assert latest.risk is not None
    how = "derived from " + latest.text if latest.derived and latest.text else (latest.text or "")
    label = latest.risk.value.replace("-", " ")
    return (
        Finding(f"GIST risk of recurrence: {label} ({how})".replace(" ()", ""), latest.source_ref),
    )


@predicate("gist_risk_unknown", NoParams)
def gist_risk_unknown(ctx: Context, a: NoParams) -> Findings:
    """No GIST risk category is recorded or derivable from the recorded pathology; the finding
    names the factors that were not available (and cites the ones that were)."""
    if risk_assessments(ctx.patient):
        return ()
    partial = ctx.patient.gist_risk[-1] if ctx.patient.gist_risk else None
    if partial is None:
        missing = ["tumour size", "mitotic count", "tumour site"]
    else:
        missing = [
            name
            for name, value in (
                ("tumour size", partial.size_cm),
                ("mitotic count per 5 mm2", partial.mitoses_per_5mm2),
                ("tumour site", partial.site),
            )
            if value is None
        ]
    if missing:
        text = "No GIST risk category on record; not available: " + ", ".join(missing)
    else:
        text = "No GIST risk category on record; the AFIP table gives none for these factors"
    found = [Finding(text, None)]
    if partial is not None:
        known = [
            f"{partial.size_cm} cm" if partial.size_cm is not None else "",
            f"{partial.mitoses_per_5mm2} mitoses per 5 mm2"
            if partial.mitoses_per_5mm2 is not None
            else "",
            f"{partial.site} site" if partial.site is not None else "",
            "no tumour rupture" if partial.rupture is False else "",
        ]
        if any(known):
            found.append(
                Finding("Recorded: " + ", ".join(k for k in known if k), partial.source_ref)
            )
    return tuple(found)


class IntentParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    intent: list[TreatmentIntent] = Field(min_length=1)
    ended: bool | None = None
    stopped_for: list[StopReason] = Field(
        default_factory=list, description="only exposures that ended for one of these reasons"
    )


@predicate("exposure_with_intent", IntentParams)
def exposure_with_intent(ctx: Context, a: IntentParams) -> Findings:
    """A (not draft) exposure to the drug recorded with one of the treatment intents."""
    hits = [
        e
        for e in ctx.patient.historical_exposures()
        if e.intent in a.intent
        and e.status is not TherapyStatus.CANCELLED
        and exposure_matches(ctx, a.drug, e)
        and (a.ended is None or e.has_ended == a.ended)
        and (not a.stopped_for or e.stop_reason in a.stopped_for)
    ]
    hits.sort(key=lambda e: e.source_ref)
    return tuple(
        Finding(exposure_text(e, f"{e.intent.value.capitalize()} therapy: " if e.intent else ""),
                e.source_ref)
        for e in hits
    )  # fmt: skip
