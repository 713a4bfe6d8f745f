"""What a fired rule says that depends on the knowledge base alone: its evidence label and
note, citations, options and order suggestions as drug references, what not to use, the
regulatory statements, the review state and the override reasons.

Built once per rule and loaded knowledge base (:func:`static_parts`), on the rule's first
firing, instead of on every firing: a recommendation shares these immutable parts, and only
its findings, order ids and setting-dependent wording are built per call. Nothing here comes
from a patient record.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.knowledge import ActionSpec, Rule, Source
from rules.loader import CompiledRule, KnowledgeBase
from rules.results import (
    CodeRef,
    DoseSpec,
    DrugRef,
    RegulatoryStatement,
    SuggestedAction,
    TherapyOption,
)

#: Code system of the KB's override reasons (a URN: the vocabulary is local to this KB).
OVERRIDE_SYSTEM = "urn:sarcoma-cds:override-reason"
#: Said on every card whose rule cites nothing but a secondary guideline summary.
SUMMARY_ONLY_NOTE = "Rests on a secondary guideline summary alone, pending human review."


def evidence_note(rule: Rule, kb: KnowledgeBase) -> str | None:
    """The rule's evidence note; led by :data:`SUMMARY_ONLY_NOTE` when every citation is a
    guideline summary (the seed summary), so the card says what the advice rests on."""
    if rule.citations and all(kb.sources[k].kind == "guideline-summary" for k in rule.citations):
        return (
            f"{SUMMARY_ONLY_NOTE} {rule.evidence.note}"
            if rule.evidence.note
            else (SUMMARY_ONLY_NOTE)
        )
    return rule.evidence.note


def base_action(spec: ActionSpec, kb: KnowledgeBase) -> SuggestedAction:
    """The suggestion an action spec makes, before any draft order is targeted."""
    vs = kb.valuesets
    dose = (
        DoseSpec(
            value=spec.dose.value,
            unit=spec.dose.unit,
            times_per_day=spec.dose.times_per_day,
            text=spec.dose.text,
            days_on=spec.dose.days_on,
            cycle_days=spec.dose.cycle_days,
        )
        if spec.dose is not None
        else None
    )
    return SuggestedAction(
        type=spec.type,
        label=spec.label,
        drug=vs.drug_ref(spec.drug) if spec.drug else None,
        test=vs.test_ref(spec.test) if spec.test else None,
        dose_text=spec.dose_text or (spec.dose.text if spec.dose else None),
        dose=dose,
        recommended=spec.recommended,
    )


@dataclass(frozen=True, slots=True)
class StaticParts:
    evidence_label: str
    evidence_note: str | None
    citations: tuple[Source, ...]
    #: The TherapyOption of each of the rule's options, by the option's id.
    options: dict[int, TherapyOption]
    #: Each action spec of the rule with its suggestion (no draft order targeted yet).
    actions: tuple[tuple[ActionSpec, SuggestedAction], ...]
    monitoring: tuple[str, ...]
    contraindicated: tuple[DrugRef, ...]
    regulatory: tuple[RegulatoryStatement, ...]
    reviewed_on: str
    reviewed_by: str
    clinically_reviewed: bool
    override_reasons: tuple[CodeRef, ...]


def _build(rule: Rule, kb: KnowledgeBase) -> StaticParts:
    vs = kb.valuesets
    contraindicated: list[DrugRef] = []
    for drug in rule.then.contraindicated_drugs:
        contraindicated.extend(vs.drug_ref(member) for member in vs.drug_members(drug))
    regulatory = sorted(
        (
            RegulatoryStatement(
                jurisdiction=note.jurisdiction,
                regulator=kb.meta.regulator(note.jurisdiction),
                drug=vs.drug_ref(note.drug),
                status=note.status,
                text=note.text,
                citations=tuple(kb.sources[key] for key in note.citations),
                applies_here=note.jurisdiction == kb.meta.jurisdiction,
            )
            for note in rule.regulatory
        ),
        key=lambda r: (not r.applies_here, r.jurisdiction, r.drug.id),
    )
    review = rule.signoff or rule.review
    return StaticParts(
        evidence_label=kb.meta.level_label(rule.evidence.level),
        evidence_note=evidence_note(rule, kb),
        citations=tuple(kb.sources[key] for key in rule.citations),
        options={
            id(o): TherapyOption(
                drug=vs.drug_ref(o.drug), dose=o.dose, preference=o.preference, note=o.note
            )
            for o in rule.then.options
        },
        actions=tuple((spec, base_action(spec, kb)) for spec in rule.then.actions),
        monitoring=tuple(rule.then.monitoring),
        contraindicated=tuple(dict.fromkeys(contraindicated)),
        regulatory=tuple(regulatory),
        reviewed_on=review.date.isoformat(),
        reviewed_by=review.role,
        clinically_reviewed=rule.clinically_reviewed,
        override_reasons=tuple(
            CodeRef(OVERRIDE_SYSTEM, reason.code, reason.display)
            for reason in kb.meta.override_reasons
        ),
    )


#: (id of the compiled rule, id of the KB) -> (both, kept alive so the ids stay theirs; the
#: parts). Knowledge bases loaded one after the other (tests) clear it now and then.
_PARTS: dict[tuple[int, int], tuple[CompiledRule, KnowledgeBase, StaticParts]] = {}


def static_parts(compiled: CompiledRule, kb: KnowledgeBase) -> StaticParts:
    """The rule's KB-only parts for ``kb`` (built on first use)."""
    key = (id(compiled), id(kb))
    entry = _PARTS.get(key)
    if entry is None or entry[0] is not compiled or entry[1] is not kb:
        if len(_PARTS) >= 4096:
            _PARTS.clear()
        entry = _PARTS[key] = (compiled, kb, _build(compiled.rule, kb))
    return entry[2]
