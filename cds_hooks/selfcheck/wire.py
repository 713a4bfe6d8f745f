"""What a conformant response looks like on the wire: no empty members (item 2) and the card
rules of items 65-69 and 71, checked on plain JSON as an integrator's client sees it."""

from __future__ import annotations

import re
from typing import Any

INDICATORS = {"info", "warning", "critical"}
SELECTION_BEHAVIORS = {"at-most-one", "any"}
ACTION_TYPES = {"create", "update", "delete"}
LINK_TYPES = {"absolute", "smart"}


def empty_members(value: Any, path: str = "$", allow: frozenset[str] = frozenset()) -> list[str]:
    """JSON paths holding ``null``, ``""``, ``[]`` or ``{}`` (item 2), except ``allow``."""
    found: list[str] = []
    if path not in allow and (value is None or value in ("", [], {})):
        return [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(empty_members(item, f"{path}.{key}", allow))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(empty_members(item, f"{path}[{index}]", allow))
    return found


def card_problems(card: Any, where: str) -> list[str]:
    """Card rules of items 65-69 and 71."""
    if not isinstance(card, dict):
        return [f"{where} is not an object"]
    problems: list[str] = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append(f"{where}.summary missing")
    elif len(summary) >= 140:
        problems.append(f"{where}.summary has {len(summary)} characters (< 140 required)")
    if card.get("indicator") not in INDICATORS:
        problems.append(f"{where}.indicator {card.get('indicator')!r} not info|warning|critical")
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str):
        problems.append(f"{where}.source.label missing")
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if card.get("selectionBehavior") not in SELECTION_BEHAVIORS:
            problems.append(f"{where} has suggestions but no valid selectionBehavior")
        recommended = 0
        for s_index, suggestion in enumerate(suggestions or []):
            s_where = f"{where}.suggestions[{s_index}]"
            if not isinstance(suggestion, dict) or not suggestion.get("label"):
                problems.append(f"{s_where}.label missing")
                continue
            recommended += 1 if suggestion.get("isRecommended") else 0
            for a_index, action in enumerate(suggestion.get("actions") or []):
                a_where = f"{s_where}.actions[{a_index}]"
                if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
                    problems.append(f"{a_where}.type not create|update|delete")
                elif not action.get("description"):
                    problems.append(f"{a_where}.description missing")
        if card.get("selectionBehavior") == "at-most-one" and recommended > 1:
            problems.append(f"{where}: at-most-one with {recommended} recommended suggestions")
    for index, reason in enumerate(card.get("overrideReasons") or []):
        if not isinstance(reason, dict) or not all(reason.get(k) for k in ("system", "code")):
            problems.append(f"{where}.overrideReasons[{index}] needs system and code")
        elif not reason.get("display"):
            problems.append(f"{where}.overrideReasons[{index}].display missing")
    for index, link in enumerate(card.get("links") or []):
        l_where = f"{where}.links[{index}]"
        if not isinstance(link, dict) or not link.get("label") or not link.get("url"):
            problems.append(f"{l_where} needs label and url")
            continue
        if link.get("type") not in LINK_TYPES:
            problems.append(f"{l_where}.type not absolute|smart")
        if "appContext" in link and link.get("type") != "smart":
            problems.append(f"{l_where}.appContext on a non-smart link")
        if not re.match(r"^https?://", str(link.get("url"))):
            problems.append(f"{l_where}.url is not absolute")
    return problems


def header_tokens(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}
