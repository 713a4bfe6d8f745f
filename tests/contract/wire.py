"""Checks shared by the contract tests."""

from __future__ import annotations

from typing import Any


def empty_members(value: Any, path: str = "$") -> list[str]:
    """Paths of every ``null``, ``""``, ``[]`` or ``{}`` member (spec item 2).

    ``$.cards`` may be ``[]`` (no advice) and ``$.services`` may be ``[]`` (items 2, 7).
    """
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if child is None or child == "" or child == [] or child == {}:
                if child_path in {"$.cards", "$.services"} and child == []:
                    continue
                found.append(child_path)
            else:
                found.extend(empty_members(child, child_path))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            child_path = f"{path}[{index}]"
            if child is None or child == "" or child == [] or child == {}:
                found.append(child_path)
            else:
                found.extend(empty_members(child, child_path))
    return found


def assert_valid_card(card: dict[str, Any], draft_order_ids: set[str] | None = None) -> None:
    """The card checks of spec section K (items 65-69), as Inferno's card validation does."""
    assert isinstance(card.get("summary"), str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in {"info", "warning", "critical"}
    assert isinstance(card["source"].get("label"), str) and card["source"]["label"]
    assert "uuid" in card, "cards carry a uuid so that feedback can be sent (item 65)"
    if card.get("suggestions"):
        assert card.get("selectionBehavior") in {"at-most-one", "any"}
        if card["selectionBehavior"] == "at-most-one":
            assert sum(1 for s in card["suggestions"] if s.get("isRecommended")) <= 1
        for suggestion in card["suggestions"]:
            assert suggestion.get("label")
            assert suggestion.get("uuid")
            for action in suggestion.get("actions", []):
                assert action["type"] in {"create", "update", "delete"}
                assert action.get("description")
                if action["type"] in {"create", "update"}:
                    assert isinstance(action["resource"], dict)
                    assert action["resource"].get("resourceType")
                if action["type"] == "update":
                    assert action["resource"].get("id")
                    if draft_order_ids is not None:
                        ref = f"{action['resource']['resourceType']}/{action['resource']['id']}"
                        assert ref in draft_order_ids, "updates target context.draftOrders"
                if action["type"] == "delete":
                    assert "/" in action["resourceId"]
    for reason in card.get("overrideReasons", []):
        assert reason.get("code") and reason.get("system") and reason.get("display")
    for link in card.get("links", []):
        assert link.get("label") and link.get("url") and link["type"] in {"absolute", "smart"}
        if link["type"] != "smart":
            assert "appContext" not in link
