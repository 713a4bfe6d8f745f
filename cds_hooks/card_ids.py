"""Card and suggestion uuids, and the ledger's (card uuid, rule id) pairs.

A card's uuid is the uuid5 of the hook instance and the rule id (a suggestion's adds its index
and label), so the same request always yields the same ids and feedback on a card can be
attributed to the rule behind it (:func:`card_rules`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from hashlib import sha1

from cds_hooks.models import Card
from fhir_mapping.drafts import UncheckedOrder
from rules import Recommendation
from rules.population_gaps import PopulationGap

#: Fixed project namespace for deterministic card and suggestion uuids.
CARD_NAMESPACE = uuid.UUID("6f1d3c1e-5a0b-4d7e-9a55-2f4b8e0c7d21")
SUMMARY_ID = "patient-summary"
UNCHECKED_ID = "unchecked-order"
POPULATION_GAP_ID = "population-data-unavailable"

_NAMESPACE_BYTES = CARD_NAMESPACE.bytes


def card_uuid(*parts: str) -> str:
    """``str(uuid.uuid5(CARD_NAMESPACE, "/".join(parts)))``, without building a UUID object:
    the SHA-1 of namespace and name, version 5 and the RFC 4122 variant set in its first 16
    bytes, written 8-4-4-4-12."""
    name = "/".join(parts).encode("utf-8")
    digest = bytearray(sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def card_rules(
    cards: Sequence[Card],
    recommendations: Sequence[Recommendation],
    hook_instance: str,
    unchecked: Sequence[UncheckedOrder] = (),
    population_gaps: Sequence[PopulationGap] = (),
) -> list[tuple[str, str, str]]:
    """(card uuid, rule id, indicator) for each card: the ledger behind per-rule feedback."""
    by_uuid = {card_uuid(hook_instance, r.rule_id): r.rule_id for r in recommendations}
    by_uuid[card_uuid(hook_instance, SUMMARY_ID)] = SUMMARY_ID
    for gap in population_gaps:
        by_uuid[card_uuid(hook_instance, POPULATION_GAP_ID, gap.order_id)] = POPULATION_GAP_ID
    for order in unchecked:
        by_uuid[card_uuid(hook_instance, UNCHECKED_ID, order.reference)] = UNCHECKED_ID
        by_uuid[card_uuid(hook_instance, UNCHECKED_ID, "dose", order.reference)] = UNCHECKED_ID
    return [
        (card.uuid, by_uuid.get(card.uuid, "unknown"), card.indicator.value)
        for card in cards
        if card.uuid
    ]


__all__ = [
    "CARD_NAMESPACE",
    "POPULATION_GAP_ID",
    "SUMMARY_ID",
    "UNCHECKED_ID",
    "card_rules",
    "card_uuid",
]
