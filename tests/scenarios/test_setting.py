"""Disease setting over HTTP: metastatic patients keep the first-line cards, localized or
resected patients lose them, and an unknown extent gives hedged advice without a recommended
order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenarios import builders as b
from tests.scenarios.conftest import all_actions

NTRK_NEG = [b.negative("NTRK1", "NTRK2", "NTRK3")]
NED = "260415000"  # CancerDiseaseStatus "Not detected" (mCODE ConditionStatusTrendVS, STU1)
CM0 = ("1229901006", "American Joint Committee on Cancer cM0 (qualifier value)")

#: histology key -> (genomics, rule id of its first-line card)
FIRST_LINE: dict[str, tuple[list[dict[str, Any]], str]] = {
    "gist": ([b.kit_exon11(), b.negative("PDGFRA")], "gist-first-line-imatinib"),
    "dfsp": (NTRK_NEG, "dfsp-imatinib"),
    "imt": ([b.fusion("EML4", "ALK"), *NTRK_NEG], "imt-alk-crizotinib"),
    "asps": (NTRK_NEG, "asps-pazopanib"),
    "leiomyosarcoma": (NTRK_NEG, "lms-first-line-anthracycline"),
    "pecoma": (NTRK_NEG, "pecoma-mtor-inhibitor"),
    "angiosarcoma": (NTRK_NEG, "angiosarcoma-options"),
}


def m_category(code: str, display: str, *, date: str = "2025-05-05") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"stage-m-{code}",
        "status": "final",
        "code": {"coding": [{"system": b.LOINC, "code": "21907-1"}]},
        "subject": b.subject(),
        "effectiveDateTime": date,
        "valueCodeableConcept": {
            "coding": [{"system": b.SNOMED, "code": code, "display": display}]
        },
    }


def _fired(cards: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [c for c in cards if f"`{rule}@" in c.get("detail", "")]


@pytest.mark.parametrize("histology", sorted(FIRST_LINE))
def test_metastatic_patient_keeps_the_first_line_card(cds, histology: str) -> None:
    genomics, rule = FIRST_LINE[histology]
    cards = cds(
        b.patient_view(
            conditions=[b.condition(histology), b.metastasis("liver", onset="2025-03-04")],
            genomics=genomics,
        )
    )
    (card,) = _fired(cards, rule)
    assert "Setting: metastatic (liver) since 2025-03-04" in card["detail"]
    assert "For advanced or unresectable disease" not in card["summary"]
    if histology in ("gist", "imt"):
        assert any(s.get("isRecommended") for s in card.get("suggestions", []))


@pytest.mark.parametrize("histology", sorted(FIRST_LINE))
def test_resected_or_localized_patient_loses_the_first_line_card(cds, histology: str) -> None:
    genomics, rule = FIRST_LINE[histology]
    resected = cds(
        b.patient_view(
            conditions=[b.condition(histology)],
            genomics=genomics,
            statuses=[b.disease_status(NED, date="2025-06-01")],
        )
    )
    assert _fired(resected, rule) == []
    localized = cds(
        b.patient_view(
            conditions=[b.condition(histology)], genomics=genomics, statuses=[m_category(*CM0)]
        )
    )
    assert _fired(localized, rule) == []
    assert not [a for a in all_actions(localized) if a["type"] == "create"]


def test_unknown_extent_is_hedged_and_the_order_is_not_recommended(cds) -> None:
    genomics, rule = FIRST_LINE["gist"]
    cards = cds(b.patient_view(conditions=[b.condition("gist")], genomics=genomics))
    (card,) = _fired(cards, rule)
    assert card["summary"].startswith("For advanced or unresectable disease")
    assert "Extent of disease not recorded" in card["detail"]
    assert card.get("suggestions"), "the order stays available"
    assert not any(s.get("isRecommended") for s in card["suggestions"])


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_exon9_dose_warning_is_silent_for_resected_gist(cds, hook: str) -> None:
    exon9 = [b.kit_exon9(), b.negative("PDGFRA")]
    drafted = b.draft("imatinib", mg=400)
    resected = cds(
        b.request(
            hook,
            drafts=[drafted],
            conditions=[b.condition("gist")],
            genomics=exon9,
            statuses=[b.disease_status(NED, date="2025-06-01")],
        )
    )
    assert _fired(resected, "gist-kit-exon9-draft-imatinib-400") == []
