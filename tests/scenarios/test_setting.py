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


# --- resected GIST: adjuvant, low risk, recurrence --------------------------------------------

GIST_PRIMARY = [b.condition("gist", id="cond-gist")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition"


def _size(cm: float) -> dict[str, Any]:
    return b.pathology(
        "size",
        {
            "component": [
                {
                    "code": {"coding": [{"system": b.LOINC, "code": "33728-7"}]},
                    "valueQuantity": {"value": cm, "unit": "cm", "code": "cm",
                                      "system": b.UCUM},
                }
            ]
        },
    )  # fmt: skip


def _mitoses(count: int) -> dict[str, Any]:
    return b.pathology(
        "Mitotic count per 5 mm2", {"valueQuantity": {"value": count, "unit": "/5 mm2"}}
    )


def _gastric(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    primary = dict(conditions[0])
    primary["bodySite"] = [{"text": "Stomach"}]
    return [primary, *conditions[1:]]


def test_resected_high_risk_gist_gets_the_adjuvant_card_and_no_first_line(cds) -> None:
    cards = cds(
        b.patient_view(
            conditions=_gastric(GIST_PRIMARY),
            genomics=[*EXON11, _size(7), _mitoses(12)],
            procedures=[b.resection(date="2025-04-10", residual="R0")],
        )
    )
    assert _fired(cards, "gist-first-line-imatinib") == []
    (card,) = _fired(cards, "gist-adjuvant-imatinib")
    assert "imatinib 400 mg orally once daily for 3 years" in card["detail"]
    assert "Setting: metastatic" not in card["detail"]
    assert "resected 2025-04-10 (R0), no evidence of disease" in card["detail"]
    assert "GIST risk of recurrence: high" in card["detail"]
    (suggestion,) = [s for s in card["suggestions"] if s.get("isRecommended")]
    (action,) = suggestion["actions"]
    assert action["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "282388"


def test_resected_low_risk_gist_gets_no_adjuvant_and_an_imatinib_order_is_questioned(cds) -> None:
    common = {
        "conditions": _gastric(GIST_PRIMARY),
        "genomics": [*EXON11, _size(3), _mitoses(2)],
        "procedures": [b.resection(date="2025-04-10", residual="R0")],
    }
    cards = cds(b.patient_view(**common))
    assert _fired(cards, "gist-adjuvant-imatinib") == []
    assert _fired(cards, "gist-first-line-imatinib") == []
    signed = cds(b.order_sign([b.draft("imatinib", mg=400)], **common))
    (warning,) = _fired(signed, "gist-adjuvant-not-for-low-risk")
    assert warning["indicator"] == "warning"


def test_recurrence_after_completed_adjuvant_restarts_imatinib(cds) -> None:
    adjuvant = b.medication("imatinib", mg=400, authored="2021-06-01")
    adjuvant["status"] = "completed"
    adjuvant["extension"] = [
        {
            "url": f"{MCODE}/mcode-procedure-intent",
            "valueCodeableConcept": {
                "coding": [
                    {"system": b.SNOMED, "code": "373846009", "display": "Adjuvant - intent"}
                ]
            },
        }
    ]
    cards = cds(
        b.patient_view(
            conditions=[*GIST_PRIMARY, b.metastasis("liver", onset="2025-08-01")],
            genomics=EXON11,
            medications=[adjuvant],
            procedures=[b.resection(date="2021-04-10", residual="R0")],
        )
    )
    assert _fired(cards, "gist-first-line-imatinib") == []
    (card,) = _fired(cards, "gist-recurrence-after-adjuvant")
    assert "metastatic (liver) since 2025-08-01" in card["detail"]
    assert any(s.get("isRecommended") for s in card["suggestions"])


def test_without_the_optional_procedures_key_the_service_still_answers(client) -> None:
    body = b.patient_view(conditions=GIST_PRIMARY, genomics=EXON11)
    del body["prefetch"]["procedures"]
    response = client.post("/cds-services/sarcoma-patient-view", json=body)
    assert response.status_code == 200
    assert response.get_json()["cards"]
