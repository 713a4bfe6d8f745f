"""Secondary KIT mutations found in plasma (ctDNA): the specimen comes from the optional
``specimens`` prefetch key and the card names it."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with

GIST = [b.condition("gist"), b.metastasis("liver")]


def _plasma(sid: str) -> dict[str, Any]:
    return {
        "resourceType": "Specimen",
        "id": sid,
        "subject": b.subject(),
        "type": {
            "coding": [
                {"system": "http://snomed.info/sct", "code": "119361006", "display": "Plasma"}
            ]
        },
    }


def _kit_n822k_in(specimen_id: str | None, date: str = "2025-02-03") -> dict[str, Any]:
    obs = b.variant("KIT", protein="p.Asn822Lys", id="kit-n822k")
    obs["effectiveDateTime"] = date
    if specimen_id:
        obs["specimen"] = {"reference": f"Specimen/{specimen_id}"}
    return obs


def _ripretinib_after_imatinib(genomics: list[dict[str, Any]], plasma: bool) -> dict[str, Any]:
    body = b.order_sign(
        [b.draft("ripretinib")],
        conditions=GIST,
        genomics=genomics,
        medications=[b.progressed("imatinib", authored="2022-01-01")],
    )
    if plasma:
        body["prefetch"]["specimens"] = b.searchset([_plasma("draw-1")])
    return body


def test_ctdna_only_activation_loop_mutation_after_imatinib_names_the_plasma_specimen(cds):
    body = _ripretinib_after_imatinib([_kit_n822k_in("draw-1")], plasma=True)
    card = card_with(cds(body), "exon 17/18")
    assert "first seen in plasma (ctDNA) after imatinib start" in card["detail"]
    assert (
        "no primary genotype on record: by timing alone" in card["detail"]
    )  # no primary genotype on record


def test_the_same_variant_without_a_specimen_or_progression_date_is_not_called_secondary(cds):
    # The stop for progression carries no date: only the plasma specimen tells the timing.
    body = _ripretinib_after_imatinib([_kit_n822k_in(None)], plasma=False)
    no_card_with(cds(body), "exon 17/18")
