"""Render rule-engine recommendations as CDS Hooks 2.0 cards.

* patient-view: one summary card (histology, biomarkers, lines so far, what is recommended
  next and on what evidence), one card per data gap, and a card per warning about the current
  therapy.
* order-select / order-sign: only cards about the selected or drafted orders (the engine
  guarantees each carries the order ids), critical first, then warning, then info.

Citations become ``source`` (the primary one) and ``links`` (the others). Suggested actions
become FHIR R4 resources as plain dicts: new orders are ``draft``/``order`` for
``Patient/<id>`` with verified codes only (RxNorm ingredient, the RxNorm clinical drug when the
dose is one tablet of a standard strength, ATC), ``authoredOn`` and the ``requester`` from
``context.userId``. Replacing a drafted drug is one ``update`` of the draft (same id, new
medication and dose): clients such as the CDS Hooks Sandbox apply only the first action of a
suggestion. Removing a draft is one ``delete``. A draft order the mapping could not check gets
a card that names it and says why. Card and suggestion uuids are uuid5 of the hook instance
and the rule id, so the same request always yields the same ids (feedback can be attributed to
a rule).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from cds_hooks.models import (
    Card,
    Coding,
    Indicator,
    Link,
    SelectionBehavior,
    Source,
    Suggestion,
)
from cds_hooks.suggestions import actions_for
from fhir_mapping.drafts import UncheckedOrder
from rules import Recommendation, SuggestedAction
from rules import Source as KbSource
from rules.results import Finding

#: Fixed project namespace for deterministic card and suggestion uuids.
CARD_NAMESPACE = uuid.UUID("6f1d3c1e-5a0b-4d7e-9a55-2f4b8e0c7d21")
SUMMARY_ID = "patient-summary"
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


UNCHECKED_ID = "unchecked-order"


def card_rules(
    cards: Sequence[Card],
    recommendations: Sequence[Recommendation],
    hook_instance: str,
    unchecked: Sequence[UncheckedOrder] = (),
) -> list[tuple[str, str, str]]:
    """(card uuid, rule id, indicator) for each card: the ledger behind per-rule feedback."""
    by_uuid = {_uuid(hook_instance, r.rule_id): r.rule_id for r in recommendations}
    by_uuid[_uuid(hook_instance, SUMMARY_ID)] = SUMMARY_ID
    for order in unchecked:
        by_uuid[_uuid(hook_instance, UNCHECKED_ID, order.reference)] = UNCHECKED_ID
        by_uuid[_uuid(hook_instance, UNCHECKED_ID, "dose", order.reference)] = UNCHECKED_ID
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


def _suggestions(
    rec: Recommendation,
    actions: Iterable[SuggestedAction],
    *,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    single_choice: bool,
    authored_on: str | None = None,
    user_id: str | None = None,
) -> list[Suggestion]:
    out: list[Suggestion] = []
    recommended_given = False
    for index, action in enumerate(actions):
        fhir_actions = actions_for(
            action,
            patient_id=patient_id,
            draft_orders=draft_orders,
            authored_on=authored_on,
            user_id=user_id,
        )
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


def _relevant_first(issues: Sequence[object], refs: Iterable[str | None]) -> list[object]:
    """The issues about the card's own facts (by FHIR reference) first, then the others."""
    wanted = {r for r in refs if r}
    about = [i for i in issues if getattr(i, "reference", None) in wanted]
    return [*about, *(i for i in issues if i not in about)]


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
    authored_on: str | None = None,
    user_id: str | None = None,
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
        authored_on=authored_on,
        user_id=user_id,
    )
    behavior = None
    if suggestions:
        behavior = SelectionBehavior.AT_MOST_ONE if single_choice else SelectionBehavior.ANY
    ordered = _relevant_first(issues, (f.source_ref for f in rec.findings))
    detail = "\n".join([*_rec_markdown(rec), *_footer(kb_version, ordered)])
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
    authored_on: str | None = None,
    user_id: str | None = None,
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
            authored_on=authored_on,
            user_id=user_id,
        )
        # The recommended suggestion belongs to the lead recommendation (the earliest step of
        # the sequence); the options of later steps are offered, not recommended.
        if index == 0 and own and rec.setting_confirmed and not any(s.is_recommended for s in own):
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


def _unchecked_card(
    order: UncheckedOrder, *, hook_instance: str, kb_version: str, issues: Sequence[object]
) -> Card:
    """A draft order the mapping could not check: never silence for an unchecked order."""
    named = f"{order.label} (`{order.reference}`)" if order.label else f"`{order.reference}`"
    ordered = _relevant_first(issues, [order.reference])
    if order.kind == "dose":
        return Card(
            uuid=_uuid(hook_instance, UNCHECKED_ID, "dose", order.reference),
            summary=clip(
                f"Check the dose of {order.label or order.reference}: above the labelled "
                "maximum, not checked by any dose rule"
            ),
            detail="\n".join(
                [
                    "**Why**",
                    "",
                    f"- Draft order {named}: {order.reason}.",
                    "",
                    "**What**",
                    "",
                    "Confirm the intended dose, its unit, the tablet count and the frequency "
                    "before signing. The dose rules of this service did not use this dose.",
                    *_footer(kb_version, ordered),
                ]
            ),
            indicator=Indicator.WARNING,
            source=Source(label="Sarcoma order check: labelled maximum dose of the drug"),
        )
    lines = [
        "**Why**",
        "",
        f"- Draft order {named}: {order.reason}.",
        "",
        "**What**",
        "",
        "This order was not checked against the sarcoma knowledge base (histology, genotype, "
        "prior lines, CYP3A4 interactions). Review it yourself, or re-enter it with a coded "
        "medication (RxNorm) so that it can be checked.",
    ]
    return Card(
        uuid=_uuid(hook_instance, UNCHECKED_ID, order.reference),
        summary=clip(f"Not checked: {order.label or order.reference} could not be read"),
        detail="\n".join([*lines, *_footer(kb_version, ordered)]),
        indicator=Indicator.WARNING,
        source=Source(label="Sarcoma order check: data quality of the draft order"),
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
    unchecked: Sequence[UncheckedOrder] = (),
    authored_on: str | None = None,
    user_id: str | None = None,
) -> list[Card]:
    """Cards for one hook call, in a deterministic order (most severe first).

    ``timeline_url`` (the SMART launch URL of the therapy-timeline app) adds a smart link to
    the patient-view summary card. ``unchecked`` are draft orders the mapping could not check
    (order hooks: one warning card each). ``authored_on`` (the date of the call) and
    ``user_id`` (``context.userId``) go into suggested orders."""
    common: dict[str, Any] = {
        "hook_instance": hook_instance,
        "patient_id": patient_id,
        "draft_orders": draft_orders,
        "kb_version": kb_version,
        "issues": tuple(issues),
        "authored_on": authored_on,
        "user_id": user_id,
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
        cards = [_single_card(r, **common) for r in recs if r.order_ids]
        return cards + [
            _unchecked_card(
                order, hook_instance=hook_instance, kb_version=kb_version, issues=tuple(issues)
            )
            for order in unchecked
        ]
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


__all__ = ["CARD_NAMESPACE", "UNCHECKED_ID", "card_rules", "clip", "render"]
