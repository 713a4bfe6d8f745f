"""The pure rule engine: ``evaluate(patient, kb, as_of, hook) -> list[Recommendation]``.

No clock, no I/O: the same inputs always give the same, identically ordered output. Each
recommendation carries the findings (with FHIR references) that made its criteria true.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from rules.extent import Extent
from rules.knowledge import DrugOption
from rules.loader import CompiledRule, KnowledgeBase
from rules.patient import Patient, TherapyStatus
from rules.predicates import Context, exposure_matches, exposure_text
from rules.results import Finding, Recommendation, SuggestedAction
from rules.rule_index import HOOKS, ORDER_HOOKS, rules_of_hook, runs_on
from rules.rule_static import (  # noqa: F401  (OVERRIDE_SYSTEM, SUMMARY_ONLY_NOTE re-exported)
    OVERRIDE_SYSTEM,
    SUMMARY_ONLY_NOTE,
    static_parts,
)
from rules.setting import current_setting

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_CREATING = frozenset({"create-medication-request", "replace-draft"})
#: Actions on the draft orders a recommendation is about: one per order id.
_TARGETED = frozenset({"replace-draft", "update-draft-dose", "delete-draft"})
#: Actions that put a drug at a dose into an order (checked against recorded intolerance).
_DOSING = _CREATING | {"update-draft-dose"}
#: Wording of advanced-disease advice when the extent of disease is not recorded.
ADVANCED_ONLY = "For advanced or unresectable disease"
UNKNOWN_EXTENT_NOTE = (
    "The extent of disease is not recorded: this applies to advanced or unresectable disease "
    "only (not to localized or completely resected disease). Record the stage, metastases or "
    "disease status before ordering."
)
UNKNOWN_EXTENT_FINDING = (
    "Extent of disease not recorded (no stage, metastasis, disease status or resection on record)"
)


def _dedupe(findings: list[Finding]) -> tuple[Finding, ...]:
    seen: set[tuple[str, str | None, str | None]] = set()
    out: list[Finding] = []
    for finding in findings:
        key = (finding.text, finding.source_ref, finding.order_id)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return tuple(out)


def _unreceived_options(
    options: list[DrugOption], ctx: Context
) -> tuple[list[DrugOption], list[tuple[DrugOption, tuple[str, str]]]]:
    """Split a rule's options into those not yet received and those received (with the
    finding text and reference of the first exposure that shows it)."""
    history = [
        e for e in ctx.patient.historical_exposures() if e.status is not TherapyStatus.CANCELLED
    ]
    kept: list[DrugOption] = []
    dropped: list[tuple[DrugOption, tuple[str, str]]] = []
    for option in options:
        hit = next((e for e in history if exposure_matches(ctx, option.drug, e)), None)
        if hit is None:
            kept.append(option)
        else:
            dropped.append((option, (exposure_text(hit), hit.source_ref)))
    return kept, dropped


def apply_rule(compiled: CompiledRule, ctx: Context, kb: KnowledgeBase) -> Recommendation | None:
    """Evaluate one rule; ``None`` when a ``when`` criterion fails or an ``unless`` holds."""
    rule = compiled.rule
    findings: list[Finding] = []
    for check in compiled.checks:
        found = check(ctx)
        if not found:
            return None
        findings.extend(found)
    for holds in compiled.vetoes:
        if holds(ctx):
            return None
    setting_confirmed = True
    summary, what = rule.then.summary, rule.then.what
    if rule.setting == "advanced":
        setting = ctx.setting
        if setting.extent in (Extent.LOCALIZED, Extent.NO_EVIDENCE_OF_DISEASE):
            return None  # advanced-disease advice for localized or resected disease: silent
        if setting.extent is Extent.UNKNOWN:
            setting_confirmed = False
            summary = f"{ADVANCED_ONLY}: {summary}"
            what = f"{what} {UNKNOWN_EXTENT_NOTE}"
            findings.append(Finding(UNKNOWN_EXTENT_FINDING, None))
        else:
            findings.extend(Finding(text, ref) for text, ref in setting.findings())
    options = rule.then.options
    received: set[str] = set()
    if rule.then.drop_received_options:
        options, dropped = _unreceived_options(options, ctx)
        if dropped:
            if not options and rule.then.kind == "recommendation":
                return None  # every option was already given
            received = {o.drug for o, _ in dropped}
            findings.extend(
                Finding(f"Already received, left out of the options: {text}", ref)
                for _, (text, ref) in dropped
            )
    order_ids = tuple(dict.fromkeys(f.order_id for f in findings if f.order_id is not None))
    if ctx.hook in ORDER_HOOKS and not order_ids:
        return None
    parts = static_parts(compiled, kb)
    actions: list[SuggestedAction] = []
    for spec, base in parts.actions:
        if spec.drug is not None and spec.drug in received and spec.type in _CREATING:
            continue
        if spec.type in _TARGETED:
            actions.extend(replace(base, target_order_id=order_id) for order_id in order_ids)
        else:
            actions.append(base)
    if not setting_confirmed:
        # Extent of disease unknown: the order stays available but is not the recommended one.
        actions = [replace(a, recommended=False) for a in actions]
    return Recommendation(
        rule_id=rule.id,
        rule_version=rule.version,
        kind=rule.then.kind,
        indicator=rule.then.indicator,
        title=rule.title,
        summary=summary,
        what=what,
        histology=rule.histology,
        line=rule.line,
        findings=_dedupe(findings),
        evidence_level=rule.evidence.level,
        evidence_label=parts.evidence_label,
        evidence_note=parts.evidence_note,
        citations=parts.citations,
        options=tuple(parts.options[id(o)] for o in options),
        actions=tuple(actions),
        monitoring=parts.monitoring,
        contraindicated=parts.contraindicated,
        regulatory=parts.regulatory,
        order_ids=order_ids,
        reviewed_on=parts.reviewed_on,
        reviewed_by=parts.reviewed_by,
        clinically_reviewed=parts.clinically_reviewed,
        override_reasons=parts.override_reasons,
        setting_confirmed=setting_confirmed,
    )


def _without_unsafe_actions(recs: list[Recommendation]) -> list[Recommendation]:
    """Drop any suggestion that would order a drug another recommendation marks as resisted."""
    banned = {drug.id for rec in recs for drug in rec.contraindicated}
    if not banned:
        return recs
    out: list[Recommendation] = []
    for rec in recs:
        kept = tuple(
            a
            for a in rec.actions
            if not (a.type in _CREATING and a.drug is not None and a.drug.id in banned)
        )
        options = tuple(o for o in rec.options if o.drug.id not in banned)
        if kept == rec.actions and options == rec.options:
            out.append(rec)
            continue
        if rec.kind == "recommendation" and not options and rec.options:
            continue  # every option it offered is resisted for this patient
        out.append(replace(rec, actions=kept, options=options))
    return out


def _action_mg_per_day(action: SuggestedAction) -> Decimal | None:
    if action.dose is None or action.dose.unit != "mg":
        return None
    return Decimal(str(action.dose.value)) * action.dose.times_per_day


def _without_untolerated_actions(
    recs: list[Recommendation], patient: Patient, kb: KnowledgeBase
) -> list[Recommendation]:
    """Drop any order suggestion at a dose the record shows was not tolerated (an intolerance
    at that dose or below, or of unstated dose); the card says why instead."""
    if not any(
        action.type in _DOSING and action.drug is not None for rec in recs for action in rec.actions
    ):
        return recs  # no order suggestion at a dose: nothing an intolerance could block
    intolerances = patient.intolerances()
    if not intolerances:
        return recs
    out: list[Recommendation] = []
    for rec in recs:
        kept: list[SuggestedAction] = []
        reasons: list[Finding] = []
        for action in rec.actions:
            blocking = [
                i
                for i in intolerances
                if action.type in _DOSING
                and action.drug is not None
                and kb.valuesets.matches(action.drug.id, (), i.ingredient)
                and i.covers(_action_mg_per_day(action))
            ]
            if not blocking:
                kept.append(action)
                continue
            reasons.extend(
                Finding(f"Not offered as an order: {i.text}", i.source_ref) for i in blocking
            )
        if not reasons:
            out.append(rec)
            continue
        findings = _dedupe([*rec.findings, *reasons])
        out.append(replace(rec, actions=tuple(kept), findings=findings))
    return out


def evaluate(
    patient: Patient, kb: KnowledgeBase, as_of: date, hook: str, *, rule_index: bool = True
) -> list[Recommendation]:
    """Run every active rule that applies to ``hook``; pure and deterministic.

    Rules are looked up by hook and by the histologies they name (``rule_index``); with
    ``rule_index=False`` every active rule of the hook is tried, which gives the same answer
    (the reference the index is tested against).

    Order hooks only return recommendations about the drafted (order-sign) or selected
    (order-select) orders. When the KB meta says ``unapproved_drug_presentation: suppress``,
    recommendations for drugs not approved in the configured jurisdiction are not returned.
    """
    if hook not in HOOKS:
        raise ValueError(f"unsupported hook {hook!r}")
    ctx = Context(
        patient=patient,
        valuesets=kb.valuesets,
        as_of=as_of,
        hook=hook,
        lines=patient.lines_of_therapy(),
        setting=current_setting(patient),
        labels={h.id: h.label for h in kb.meta.histologies},
    )
    recs: list[Recommendation] = []
    if rule_index:
        present = frozenset(d.histology for d in patient.diagnoses if d.is_active)
        candidates = [
            compiled
            for compiled, histologies in rules_of_hook(kb, hook)
            if histologies is None or not histologies.isdisjoint(present)
        ]
    else:
        candidates = [c for c in kb.active_rules() if runs_on(c, kb, hook)]
    for compiled in candidates:
        rec = apply_rule(compiled, ctx, kb)
        if rec is not None:
            recs.append(rec)
    recs = _without_unsafe_actions(recs)
    recs = _without_untolerated_actions(recs, patient, kb)
    # Most severe first; among recommendations the earliest step of the therapy sequence first
    # (e.g. imatinib escalation, line 1, before sunitinib, line 2), then by evidence strength.
    return sorted(
        recs,
        key=lambda r: (
            _SEVERITY[r.indicator],
            r.line if r.line is not None else 99,
            kb.level_rank(r.evidence_level),
            r.rule_id,
        ),
    )
