"""Render rule-engine recommendations as CDS Hooks 2.0 cards.

* patient-view: one summary card (histology, biomarkers, lines so far, what is recommended
  next and on what evidence), one card per data gap, and a card per warning about the current
  therapy.
* order-select / order-sign: only cards about the selected or drafted orders (the engine
  guarantees each carries the order ids), critical first, then warning, then info.

Citations become ``source`` (the primary one) and ``links`` (the others). Suggested actions
become FHIR R4 resources as plain dicts: new orders are ``draft``/``order`` for
``Patient/<id>`` with verified codes only; draft orders are deleted by id or updated as the
whole resource. Card and suggestion uuids are uuid5 of the hook instance and the rule id, so
the same request always yields the same ids (feedback can be attributed to a rule).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from cds_hooks.models import (
    Action,
    Card,
    Coding,
    Indicator,
    Link,
    SelectionBehavior,
    Source,
    Suggestion,
)
from rules import Recommendation, SuggestedAction
from rules import Source as KbSource
from rules.results import DoseSpec, Finding

#: Fixed project namespace for deterministic card and suggestion uuids.
CARD_NAMESPACE = uuid.UUID("6f1d3c1e-5a0b-4d7e-9a55-2f4b8e0c7d21")
SUMMARY_ID = "patient-summary"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
MAX_SUMMARY = 139


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """Shorten ``text`` to ``limit`` characters at a word boundary, marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(CARD_NAMESPACE, "/".join(parts)))


def card_rules(
    cards: Sequence[Card], recommendations: Sequence[Recommendation], hook_instance: str
) -> list[tuple[str, str, str]]:
    """(card uuid, rule id, indicator) for each card: the ledger behind per-rule feedback."""
    by_uuid = {_uuid(hook_instance, r.rule_id): r.rule_id for r in recommendations}
    by_uuid[_uuid(hook_instance, SUMMARY_ID)] = SUMMARY_ID
    return [
        (card.uuid, by_uuid.get(card.uuid, "unknown"), card.indicator.value)
        for card in cards
        if card.uuid
    ]


def _issue_text(issue: object) -> str:
    reference = getattr(issue, "reference", None)
    problem = getattr(issue, "problem", None)
    if isinstance(reference, str) and isinstance(problem, str):
        return f"`{reference}`: {problem}"
    return str(issue)


# ---------------------------------------------------------------------------------------------
# FHIR resources for suggestions


def _medication_concept(action: SuggestedAction) -> dict[str, Any]:
    assert action.drug is not None
    codings: list[dict[str, str]] = []
    seen_systems: set[str] = set()
    for code in action.drug.codes:
        if code.system in seen_systems or code.system not in {RXNORM, ATC}:
            continue  # one coding per system: the first (preferred) verified code
        seen_systems.add(code.system)
        codings.append({"system": code.system, "code": code.code, "display": code.display})
    concept: dict[str, Any] = {"text": action.drug.display}
    if codings:
        concept["coding"] = codings
    return concept


def _dosage(dose: DoseSpec | None, text: str | None) -> list[dict[str, Any]] | None:
    if dose is None and text is None:
        return None
    instruction: dict[str, Any] = {"text": text or (dose.text if dose else "")}
    if dose is not None:
        instruction["timing"] = {
            "repeat": {"frequency": dose.times_per_day, "period": 1, "periodUnit": "d"}
        }
        instruction["doseAndRate"] = [
            {
                "doseQuantity": {
                    "value": dose.value,
                    "unit": dose.unit,
                    "system": UCUM,
                    "code": dose.unit,
                }
            }
        ]
    return [instruction]


def _new_medication_request(action: SuggestedAction, patient_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": _medication_concept(action),
    }
    dosage = _dosage(action.dose, action.dose_text)
    if dosage:
        resource["dosageInstruction"] = dosage
    return resource


def _new_service_request(action: SuggestedAction, patient_id: str) -> dict[str, Any]:
    assert action.test is not None
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {
            "coding": [
                {"system": c.system, "code": c.code, "display": c.display}
                for c in action.test.codes
            ],
            "text": action.test.display,
        },
    }


def _find_draft(
    draft_orders: Mapping[str, Mapping[str, Any]], order_id: str
) -> tuple[str, Mapping[str, Any] | None]:
    """The draft's ``Type/id`` reference and resource, looked up by id or by reference."""
    if order_id in draft_orders:
        resource = draft_orders[order_id]
        kind = str(resource.get("resourceType", "MedicationRequest"))
        return (order_id if "/" in order_id else f"{kind}/{order_id}"), resource
    for key, resource in sorted(draft_orders.items()):
        if key.rsplit("/", 1)[-1] == order_id or resource.get("id") == order_id:
            return f"{resource.get('resourceType', 'MedicationRequest')}/{order_id}", resource
    return f"MedicationRequest/{order_id}", None


def _actions(
    action: SuggestedAction,
    *,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
) -> list[Action] | None:
    """FHIR actions for one suggested action; ``None`` when it cannot be expressed safely."""
    if action.type == "create-medication-request":
        return [
            Action(
                type="create",
                description=action.label,
                resource=_new_medication_request(action, patient_id),
            )
        ]
    if action.type == "create-service-request":
        return [
            Action(
                type="create",
                description=action.label,
                resource=_new_service_request(action, patient_id),
            )
        ]
    if action.target_order_id is None:
        return None
    reference, draft = _find_draft(draft_orders, action.target_order_id)
    if action.type == "delete-draft":
        return [Action(type="delete", description=action.label, resource_id=reference)]
    if action.type == "replace-draft":
        return [
            Action(
                type="delete",
                description=f"Remove the draft order {reference}",
                resource_id=reference,
            ),
            Action(
                type="create",
                description=action.label,
                resource=_new_medication_request(action, patient_id),
            ),
        ]
    # update-draft-dose: the whole draft resource, modified; impossible without the draft
    if draft is None or "id" not in draft:
        return None
    updated = copy.deepcopy(dict(draft))
    dosage = _dosage(action.dose, action.dose_text)
    if dosage:
        updated["dosageInstruction"] = dosage
    return [Action(type="update", description=action.label, resource=updated)]


def _suggestions(
    rec: Recommendation,
    actions: Iterable[SuggestedAction],
    *,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    single_choice: bool,
) -> list[Suggestion]:
    out: list[Suggestion] = []
    recommended_given = False
    for index, action in enumerate(actions):
        fhir_actions = _actions(action, patient_id=patient_id, draft_orders=draft_orders)
        if not fhir_actions:
            continue
        recommended = action.recommended and not (single_choice and recommended_given)
        recommended_given = recommended_given or recommended
        out.append(
            Suggestion(
                label=action.label,
                uuid=_uuid(hook_instance, rec.rule_id, "suggestion", str(index), action.label),
                is_recommended=recommended or None,
                actions=fhir_actions,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Markdown


def _finding_line(finding: Finding) -> str:
    ref = f" (`{finding.source_ref}`)" if finding.source_ref else ""
    return f"- {finding.text}{ref}"


def _citation_text(source: KbSource) -> str:
    parts = [f"*{source.title}*"]
    if source.authors:
        parts.append(source.authors)
    parts.append(f"{source.publisher}, {source.year}")
    if source.citation:
        parts.append(source.citation)
    if source.doi:
        parts.append(f"doi:{source.doi}")
    return ". ".join(parts)


def _rec_markdown(rec: Recommendation, *, heading: str | None = None) -> list[str]:
    lines: list[str] = []
    if heading:
        lines += [f"### {heading}", ""]
    if rec.findings:
        lines += ["**Why**", "", *(_finding_line(f) for f in rec.findings), ""]
    lines += ["**What**", "", rec.what]
    if rec.options:
        lines.append("")
        lines += [
            f"- {o.drug.display}: {o.dose} ({o.preference})" + (f"; {o.note}" if o.note else "")
            for o in rec.options
        ]
    if rec.monitoring:
        lines += ["", "**Monitor**", "", *(f"- {m}" for m in rec.monitoring)]
    if rec.contraindicated:
        names = ", ".join(d.display for d in rec.contraindicated)
        lines += ["", f"**Do not use (resistance or contraindication):** {names}"]
    lines += ["", f"**Evidence:** {rec.evidence_label}."]
    if rec.evidence_note:
        lines[-1] += f" {rec.evidence_note}"
    lines += [f"- {_citation_text(c)}" for c in rec.citations]
    if rec.regulatory:
        lines += ["", "**Regulatory status**", ""]
        for note in rec.regulatory:
            marker = " (this site)" if note.applies_here else ""
            lines.append(f"- {note.jurisdiction}{marker}, {note.drug.display}: {note.text}")
    lines += ["", f"_Rule `{rec.rule_id}@{rec.rule_version}`: {rec.review_line}._"]
    return lines


def _footer(kb_version: str, issues: Sequence[object]) -> list[str]:
    lines: list[str] = []
    if issues:
        lines += ["", "**Data quality** (these inputs were skipped or partly read):", ""]
        lines += [f"- {_issue_text(i)}" for i in issues[:8]]
        if len(issues) > 8:
            lines.append(f"- … and {len(issues) - 8} more")
    lines += ["", f"_Knowledge base {kb_version}._"]
    return lines


# ---------------------------------------------------------------------------------------------
# Cards


def _source_and_links(citations: Sequence[KbSource]) -> tuple[Source, list[Link] | None]:
    primary = citations[0]
    source = Source(
        label=clip(f"{primary.title} ({primary.publisher}, {primary.year})", 200),
        url=primary.link,
    )
    seen = {primary.link}
    links: list[Link] = []
    for other in citations[1:]:
        if other.link and other.link not in seen:
            seen.add(other.link)
            links.append(Link(label=clip(other.title, 120), url=other.link, type="absolute"))
    return source, links or None


def _override_reasons(rec: Recommendation) -> list[Coding] | None:
    return [
        Coding(system=r.system, code=r.code, display=r.display) for r in rec.override_reasons
    ] or None


def _single_card(
    rec: Recommendation,
    *,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    kb_version: str,
    issues: Sequence[object],
) -> Card:
    source, links = _source_and_links(rec.citations)
    single_choice = rec.kind in {"warning", "recommendation"}
    suggestions = _suggestions(
        rec,
        rec.actions,
        hook_instance=hook_instance,
        patient_id=patient_id,
        draft_orders=draft_orders,
        single_choice=single_choice,
    )
    behavior = None
    if suggestions:
        behavior = SelectionBehavior.AT_MOST_ONE if single_choice else SelectionBehavior.ANY
    detail = "\n".join([*_rec_markdown(rec), *_footer(kb_version, issues)])
    return Card(
        uuid=_uuid(hook_instance, rec.rule_id),
        summary=clip(rec.summary),
        detail=detail,
        indicator=Indicator(rec.indicator),
        source=source,
        suggestions=suggestions or None,
        selection_behavior=behavior,
        override_reasons=_override_reasons(rec) if rec.indicator != "info" or suggestions else None,
        links=links,
    )


def _summary_card(
    summary: Recommendation | None,
    advice: list[Recommendation],
    monitoring: list[Recommendation],
    *,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    kb_version: str,
    issues: Sequence[object],
    timeline_url: str | None = None,
) -> Card:
    lead = advice[0] if advice else summary
    assert lead is not None
    citations: list[KbSource] = []
    for rec in [*advice, *monitoring, *([summary] if summary else [])]:
        citations += [c for c in rec.citations if c not in citations]
    source, links = _source_and_links(citations)
    if advice:
        headline = clip(f"Next: {advice[0].summary}")
    else:
        headline = "Sarcoma summary: no new therapy recommendation from the knowledge base"
    lines: list[str] = []
    if summary is not None:
        lines += ["**Patient**", "", *(_finding_line(f) for f in summary.findings), ""]
        lines += [summary.what, ""]
    if advice:
        lines += ["## Recommended next", ""]
        for rec in advice:
            lines += [*_rec_markdown(rec, heading=rec.title), ""]
    for rec in monitoring:
        lines += [*_rec_markdown(rec, heading=rec.title), ""]
    suggestions: list[Suggestion] = []
    for index, rec in enumerate(advice):
        own = _suggestions(
            rec,
            [a for a in rec.actions if a.type == "create-medication-request"],
            hook_instance=hook_instance,
            patient_id=patient_id,
            draft_orders=draft_orders,
            single_choice=True,
        )
        # The recommended suggestion belongs to the lead recommendation (the earliest step of
        # the sequence); the options of later steps are offered, not recommended.
        if index == 0 and own and not any(s.is_recommended for s in own):
            own[0] = own[0].model_copy(update={"is_recommended": True})
        elif index > 0:
            own = [s.model_copy(update={"is_recommended": None}) for s in own]
        suggestions += own
    # at most one suggestion may be recommended on an at-most-one card
    first = next((i for i, s in enumerate(suggestions) if s.is_recommended), None)
    suggestions = [
        s if (not s.is_recommended or i == first) else s.model_copy(update={"is_recommended": None})
        for i, s in enumerate(suggestions)
    ]
    if timeline_url:
        # The therapy-timeline SMART app: the EHR adds iss and launch to this URL.
        timeline = Link(
            label="Therapy timeline",
            url=f"{timeline_url}?patient={quote(patient_id, safe='')}",
            type="smart",
            app_context=json.dumps({"patientId": patient_id}, separators=(",", ":")),
        )
        links = [timeline, *(links or [])]
    return Card(
        uuid=_uuid(hook_instance, SUMMARY_ID),
        summary=headline,
        detail="\n".join([*lines, *_footer(kb_version, issues)]).strip(),
        indicator=Indicator.INFO,
        source=source,
        suggestions=suggestions or None,
        selection_behavior=SelectionBehavior.AT_MOST_ONE if suggestions else None,
        override_reasons=_override_reasons(lead) if suggestions else None,
        links=links,
    )


def render(
    recommendations: Sequence[Recommendation],
    *,
    hook: str,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    kb_version: str,
    issues: Sequence[object] = (),
    timeline_url: str | None = None,
) -> list[Card]:
    """Cards for one hook call, in a deterministic order (most severe first).

    ``timeline_url`` (the SMART launch URL of the therapy-timeline app) adds a smart link to
    the patient-view summary card."""
    common: dict[str, Any] = {
        "hook_instance": hook_instance,
        "patient_id": patient_id,
        "draft_orders": draft_orders,
        "kb_version": kb_version,
        "issues": tuple(issues),
    }
    unique: dict[str, Recommendation] = {}
    for rec in recommendations:
        unique.setdefault(rec.rule_id, rec)
    # stable: keeps the engine's evidence order within a severity; options for drugs not
    # approved in the site's jurisdiction go after approved ones
    recs = sorted(
        unique.values(),
        key=lambda r: (
            _SEVERITY[r.indicator],
            any(n.applies_here and n.status == "not-approved" for n in r.regulatory),
        ),
    )
    if hook != "patient-view":
        return [_single_card(r, **common) for r in recs if r.order_ids]
    summary = next((r for r in recs if r.kind == "summary"), None)
    advice = [r for r in recs if r.kind == "recommendation"]
    monitoring = [r for r in recs if r.kind == "monitoring"]
    separate = [r for r in recs if r.kind in {"warning", "data-gap"}]
    cards = [_single_card(r, **common) for r in separate if r.indicator != "info"]
    if summary is not None or advice or monitoring:
        cards.append(
            _summary_card(summary, advice, monitoring, timeline_url=timeline_url, **common)
        )
    cards += [_single_card(r, **common) for r in separate if r.indicator == "info"]
    return cards


__all__ = ["CARD_NAMESPACE", "card_rules", "clip", "render"]
