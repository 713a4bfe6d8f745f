"""The scenario harness: every response goes through the same wire and safety checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.contract.wire import assert_valid_card, empty_members
from tests.contract.wording import card_wording_problems
from tests.scenarios.builders import SERVICE_FOR_HOOK

Cards = list[dict[str, Any]]
_DO_NOT_USE = re.compile(r"\*\*Do not use \(resistance or contraindication\):\*\* (.+)")


def draft_ids(body: dict[str, Any]) -> set[str]:
    bundle = body["context"].get("draftOrders") or {}
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
    }


def marked_unsafe(cards: Cards) -> set[str]:
    """Drug names any card of the response marks as resisted or contraindicated."""
    names: set[str] = set()
    for card in cards:
        for match in _DO_NOT_USE.finditer(card.get("detail", "")):
            names |= {n.strip().lower() for n in match.group(1).split(",")}
    return names


def created_drugs(cards: Cards) -> set[str]:
    """Drug names (text and coding displays) of every MedicationRequest a suggestion creates
    or puts in place of a draft."""
    names: set[str] = set()
    for action in all_actions(cards):
        resource = action.get("resource") or {}
        if (
            action["type"] in {"create", "update"}
            and resource.get("resourceType") == "MedicationRequest"
        ):
            concept = resource["medicationCodeableConcept"]
            names.add(concept.get("text", "").lower())
            names |= {c.get("display", "").lower() for c in concept.get("coding", [])}
    return names - {""}


def all_actions(cards: Cards) -> list[dict[str, Any]]:
    return [a for c in cards for s in c.get("suggestions", []) for a in s["actions"]]


def draft_orders(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    bundle = body["context"].get("draftOrders") or {}
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
        for e in bundle.get("entry", [])
    }


def apply_first_action(
    orders: dict[str, dict[str, Any]], suggestion: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """What the CDS Hooks Sandbox holds after a suggestion is taken: it applies only the
    suggestion's first action (create adds, update replaces by id, delete removes)."""
    result = dict(orders)
    action = suggestion["actions"][0]
    if action["type"] == "delete":
        result.pop(action["resourceId"], None)
        return result
    resource = action["resource"]
    key = f"{resource['resourceType']}/{resource.get('id', f'new-{len(result)}')}"
    if action["type"] == "update":
        assert key in orders, f"update of an order that is not a draft: {key}"
    result[key] = resource
    return result


def check_first_action_semantics(body: dict[str, Any], cards: Cards) -> None:
    """Every suggestion does what it says under first-action-only clients: each order it
    creates or updates is present and each order it deletes is gone after its first action,
    and each ordered drug is named in the label."""
    orders = draft_orders(body)
    for card in cards:
        for suggestion in card.get("suggestions", []):
            result = apply_first_action(orders, suggestion)
            for action in suggestion["actions"]:
                if action["type"] == "delete":
                    assert action["resourceId"] not in result, suggestion["label"]
                    continue
                resource = action["resource"]
                assert resource in result.values(), suggestion["label"]
                key = f"{resource['resourceType']}/{resource.get('id')}"
                same_drug = resource.get("medicationCodeableConcept") == orders.get(key, {}).get(
                    "medicationCodeableConcept"
                )
                if resource["resourceType"] == "MedicationRequest" and not same_drug:
                    drug = resource["medicationCodeableConcept"]["text"].lower()
                    assert drug in suggestion["label"].lower(), (drug, suggestion["label"])


def check_response(body: dict[str, Any], answer: dict[str, Any]) -> Cards:
    assert empty_members(answer) == [], empty_members(answer)
    cards = answer["cards"]
    ids = draft_ids(body)
    for card in cards:
        assert_valid_card(card, ids if body["hook"] != "patient-view" else None)
    wording = [p for card in cards for p in card_wording_problems(card, body["hook"])]
    assert wording == [], wording
    unsafe = marked_unsafe(cards)
    assert not unsafe & created_drugs(cards), "a suggestion orders a drug marked as resisted"
    check_first_action_semantics(body, cards)
    return cards


@pytest.fixture
def cds(client: FlaskClient) -> Callable[[dict[str, Any]], Cards]:
    """POST a hook request to its service; return the cards after the cross-cutting checks."""

    def _call(body: dict[str, Any]) -> Cards:
        response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[body['hook']]}", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return check_response(body, response.get_json())

    return _call


def rule_card(cards: Cards, rule_id: str) -> dict[str, Any]:
    """The card of one rule (each card names its rule once, in its last line)."""
    (card,) = [c for c in cards if f"`{rule_id}@" in c.get("detail", "")]
    return card


def card_with(cards: Cards, *words: str, indicator: str | None = None) -> dict[str, Any]:
    """The one card whose summary contains every word (case-insensitive)."""
    hits = [
        c
        for c in cards
        if all(w.lower() in c["summary"].lower() for w in words)
        and (indicator is None or c["indicator"] == indicator)
    ]
    assert len(hits) == 1, [c["summary"] for c in cards]
    return hits[0]


def no_card_with(cards: Cards, *words: str) -> None:
    assert not [c for c in cards if all(w.lower() in c["summary"].lower() for w in words)], [
        c["summary"] for c in cards
    ]


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def suggested_orders(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources created by the card's suggestions."""
    return [a["resource"] for a in all_actions([card]) if a["type"] == "create"]
