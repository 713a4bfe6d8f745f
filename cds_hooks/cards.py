"""Render rule-engine recommendations as CDS Hooks 2.0 cards.

* patient-view: one card per actionable recommendation (next step, warning, missing test,
  monitoring), most severe first; a single summary card of the facts read when no rule
  recommends anything. Each detail is short (:mod:`cds_hooks.card_text`); the full reasoning
  is on the therapy-timeline page every card links to.
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
a rule; :mod:`cds_hooks.card_ids`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from cds_hooks import card_text
from cds_hooks.card_ids import (
    CARD_NAMESPACE,
    POPULATION_GAP_ID,
    SUMMARY_ID,
    UNCHECKED_ID,
    card_rules,
)
from cds_hooks.card_ids import card_uuid as _uuid
from cds_hooks.card_text import (
    population_gap_detail,
    recommendation_detail,
    summary_detail,
    unchecked_detail,
)
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
from rules.population_gaps import PopulationGap

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
MAX_SUMMARY = 139


def clip(text: str, limit: int = MAX_SUMMARY) -> str:
    """Shorten ``text`` to ``limit`` characters at a word boundary, marking the cut."""
    return card_text.clip(text, limit)


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
# Cards


#: Knowledge-base objects (a recommendation's citation tuple, its override-reason tuple) ->
#: (the object, kept alive so that its id stays its own; what a card makes of it). The engine
#: gives every firing of a rule the same tuples (rules.rule_static): no patient data here.
#: What is kept is immutable (frozen wire models, tuples) and shared by the cards of every call.
_KB_WORDS: dict[int, tuple[object, Any]] = {}


def _of_kb(kb_object: object, build: Callable[[], Any]) -> Any:
    """``build()``, once per knowledge-base object (by identity)."""
    entry = _KB_WORDS.get(id(kb_object))
    if entry is None or entry[0] is not kb_object:
        if len(_KB_WORDS) >= 2048:
            _KB_WORDS.clear()  # knowledge bases loaded one after the other (tests)
        entry = _KB_WORDS[id(kb_object)] = (kb_object, build())
    return entry[1]


def _source_and_links(citations: Sequence[KbSource]) -> tuple[Source, list[Link] | None]:
    source, links = _of_kb(citations, lambda: _build_source_and_links(citations))
    return source, list(links) or None


def _build_source_and_links(citations: Sequence[KbSource]) -> tuple[Source, tuple[Link, ...]]:
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
    return source, tuple(links)


def _override_reasons(rec: Recommendation) -> list[Coding] | None:
    reasons = rec.override_reasons
    codings: tuple[Coding, ...] = _of_kb(
        reasons,
        lambda: tuple(Coding(system=r.system, code=r.code, display=r.display) for r in reasons),
    )
    return list(codings) or None


def _timeline_link(timeline_url: str, patient_id: str) -> Link:
    """The therapy-timeline SMART app: the EHR adds iss and launch to this URL."""
    return Link(
        label="Therapy timeline",
        url=f"{timeline_url}?patient={quote(patient_id, safe='')}",
        type="smart",
        app_context=json.dumps({"patientId": patient_id}, separators=(",", ":")),
    )


def _single_card(
    rec: Recommendation,
    *,
    hook_instance: str,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    kb_version: str,
    issues: Sequence[object],
    timeline_url: str | None = None,
    timeline_link: Link | None = None,
    authored_on: str | None = None,
    user_id: str | None = None,
    population_gaps: Sequence[PopulationGap] = (),
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
    if timeline_link is not None:
        links = [timeline_link, *(links or [])]
    notes = [g.text() for g in population_gaps if g.order_id in rec.order_ids]
    detail = recommendation_detail(
        rec,
        issues=issues,
        kb_version=kb_version,
        timeline=timeline_url is not None,
        note="; ".join(notes) or None,
    )
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
    *,
    hook_instance: str,
    kb_version: str,
    issues: Sequence[object],
    timeline_url: str | None = None,
    timeline_link: Link | None = None,
    **_: Any,
) -> Card:
    """The one patient-view card when no rule recommends anything: the facts the service read,
    so that silence is never mistaken for "not checked"."""
    links = [timeline_link] if timeline_link is not None else None
    if summary is not None and summary.citations:
        source = _build_source_and_links(summary.citations[:1])[0]
    else:
        source = Source(label="Sarcoma therapy-sequencing knowledge base")
    return Card(
        uuid=_uuid(hook_instance, SUMMARY_ID),
        summary="Sarcoma summary: no new therapy recommendation from the knowledge base",
        detail=summary_detail(
            summary, issues=issues, kb_version=kb_version, timeline=timeline_url is not None
        ),
        indicator=Indicator.INFO,
        source=source,
        links=links,
    )


def _unchecked_card(
    order: UncheckedOrder,
    *,
    hook_instance: str,
    kb_version: str,
    issues: Sequence[object],
    timeline_link: Link | None = None,
    **_: Any,
) -> Card:
    """A draft order the mapping could not check, or whose dose is above the labelled maximum:
    never silence for an unchecked order."""
    links = [timeline_link] if timeline_link is not None else None
    if order.kind == "dose":
        return Card(
            uuid=_uuid(hook_instance, UNCHECKED_ID, "dose", order.reference),
            summary=clip(
                f"Check the dose of {order.label or order.reference}: above the labelled "
                "maximum, not checked by any dose rule"
            ),
            detail=unchecked_detail(order, issues=issues, kb_version=kb_version),
            indicator=Indicator.WARNING,
            source=Source(label="Sarcoma order check: labelled maximum dose of the drug"),
            links=links,
        )
    return Card(
        uuid=_uuid(hook_instance, UNCHECKED_ID, order.reference),
        summary=clip(f"Not checked: {order.label or order.reference} could not be read"),
        detail=unchecked_detail(order, issues=issues, kb_version=kb_version),
        indicator=Indicator.WARNING,
        source=Source(label="Sarcoma order check: data quality of the draft order"),
        links=links,
    )


def _population_gap_card(
    gap: PopulationGap,
    *,
    hook_instance: str,
    kb_version: str,
    timeline_link: Link | None = None,
    **_: Any,
) -> Card:
    """A drafted drug with label population rows, no other card about it, and no population
    data to check it against: never silence for a check that could not be made."""
    links = [timeline_link] if timeline_link is not None else None
    return Card(
        uuid=_uuid(hook_instance, POPULATION_GAP_ID, gap.order_id),
        summary=clip(
            f"Pregnancy and organ-function checks not made for {gap.drug}: results not available"
        ),
        detail=population_gap_detail(gap, kb_version=kb_version),
        indicator=Indicator.INFO,
        source=Source(label="Sarcoma order check: data available for the draft order"),
        links=links,
    )


#: Within one severity: what to do first, then the missing tests, then what to monitor.
_KIND_ORDER = {"warning": 0, "recommendation": 0, "data-gap": 1, "monitoring": 2, "summary": 3}


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
    population_gaps: Sequence[PopulationGap] = (),
    authored_on: str | None = None,
    user_id: str | None = None,
) -> list[Card]:
    """Cards for one hook call, one per actionable recommendation, most severe first.

    ``timeline_url`` (the SMART launch URL of the therapy-timeline app) adds a smart link to
    every card: the full reasoning, every option and all citations are there. ``unchecked``
    are draft orders the mapping could not check (order hooks: one warning card each).
    ``population_gaps`` (order hooks) are drafted drugs whose label population checks could not
    be made: a data-quality line on the cards about the draft, or one info card when no card
    is about it.
    ``authored_on`` (the date of the call) and ``user_id`` (``context.userId``) go into
    suggested orders."""
    common: dict[str, Any] = {
        "hook_instance": hook_instance,
        "patient_id": patient_id,
        "draft_orders": draft_orders,
        "kb_version": kb_version,
        "issues": tuple(issues),
        "timeline_url": timeline_url,
        "timeline_link": _timeline_link(timeline_url, patient_id) if timeline_url else None,
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
            _KIND_ORDER[r.kind],
            any(n.applies_here and n.status == "not-approved" for n in r.regulatory),
        ),
    )
    if hook != "patient-view":
        about = [r for r in recs if r.order_ids]
        cards = [_single_card(r, population_gaps=population_gaps, **common) for r in about]
        covered = {order_id for r in about for order_id in r.order_ids}
        cards += [
            _population_gap_card(gap, **common)
            for gap in population_gaps
            if gap.order_id not in covered
        ]
        return cards + [_unchecked_card(order, **common) for order in unchecked]
    actionable = [r for r in recs if r.kind != "summary"]
    if actionable:
        return [_single_card(r, **common) for r in actionable]
    summary = next((r for r in recs if r.kind == "summary"), None)
    return [_summary_card(summary, **common)]


__all__ = ["CARD_NAMESPACE", "UNCHECKED_ID", "card_rules", "clip", "render"]
