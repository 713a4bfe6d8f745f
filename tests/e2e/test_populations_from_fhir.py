"""Special populations from a real FHIR server, with no prefetch at all.

The service runs its own searches against sekmet-fhir: the pregnancy status and the liver tests
must reach the rules through the population search (not the genomic one), and the search's
``next`` pages must be followed: 120 older ALT results fill the first page of 100 (newest
first), so the pregnancy status recorded 100 days ago is only on the second page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.wire import assert_valid_card, empty_members
from tests.peers import put_resources, sekmet_server
from tests.scenarios import builders as b
from tests.scenarios.test_special_populations import days_ago

pytestmark = pytest.mark.e2e

PATIENT = "e2e-pop-1"


def _pregnancy_status(days: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "preg-1",
        "status": "final",
        "code": {"coding": [{"system": b.LOINC, "code": "82810-3", "display": "Pregnancy status"}]},
        "subject": b.subject(PATIENT),
        "effectiveDateTime": days_ago(days),
        "valueCodeableConcept": {
            "coding": [{"system": b.LOINC, "code": "LA15173-0", "display": "Pregnant"}]
        },
    }


def _lab(loinc: str, value: float, unit: str, high: float, days: int, id: str) -> dict[str, Any]:
    lab = b.lab_result(loinc, value, unit, high=high, days_ago=days, id=id)
    lab["subject"] = b.subject(PATIENT)
    return lab


def _record() -> list[dict[str, Any]]:
    condition = b.condition("leiomyosarcoma")
    condition["subject"] = b.subject(PATIENT)
    older_alt = [_lab("1742-6", 30, "U/L", 40, 35 + i % 60, f"alt-old-{i}") for i in range(120)]
    return [
        b.patient(PATIENT),
        condition,
        _pregnancy_status(100),
        # Recent liver tests: total bilirubin 2.5x ULN (moderate impairment), ALT, AST.
        _lab("1975-2", 3.0, "mg/dL", 1.2, 5, "bili-1"),
        _lab("1742-6", 60, "U/L", 40, 5, "alt-1"),
        _lab("1920-8", 58, "U/L", 40, 5, "ast-1"),
        *older_alt,
    ]


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory) -> Iterator[str]:
    with sekmet_server(Path(tmp_path_factory.mktemp("sekmet-pop"))) as base:
        put_resources(base, _record())
        yield base


def _order_sign(fhir_base: str) -> dict[str, Any]:
    draft = b.draft("pazopanib", mg=800)
    draft["subject"] = b.subject(PATIENT)
    return {
        "hook": "order-sign",
        "hookInstance": "c3a1d2b4-0000-4000-8000-00000000e2f1",
        "fhirServer": fhir_base,
        "context": {
            "userId": "Practitioner/e2e",
            "patientId": PATIENT,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft}],
            },
        },
    }


def test_order_sign_without_prefetch_reads_pregnancy_and_liver_tests_from_the_fhir_server(
    make_app, make_settings, fhir_base
):
    app = make_app(make_settings(fhir_allowlist=[fhir_base]))
    resp = app.test_client().post("/cds-services/sarcoma-order-sign", json=_order_sign(fhir_base))
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert empty_members(data) == []
    cards = data["cards"]
    summaries = [c["summary"] for c in cards]
    pregnancy = [c for c in cards if "fetus" in c["summary"] or "fetal" in c["summary"]]
    assert pregnancy, summaries  # the pregnancy status (on the second page) was read
    assert "`Observation/preg-1`" in pregnancy[0]["detail"]
    hepatic = [c for c in cards if "hepatic impairment" in c["summary"]]
    assert hepatic, summaries
    assert "200 mg once daily" in hepatic[0]["detail"]
    assert "`Observation/bili-1`" in hepatic[0]["detail"]
    # The liver tests exist: no false "no liver tests" warning.
    assert not [c for c in cards if "liver tests" in c["summary"]], summaries
    for card in cards:
        assert_valid_card(card, {"MedicationRequest/draft-pazopanib"})


def test_order_sign_when_the_population_search_fails_does_not_say_the_tests_are_absent(
    make_app, make_settings, fhir_base
):
    """The FHIR server is not allowed: the required keys come prefetched, the population key
    is neither sent nor fetchable, and the liver-test card says so instead of "no tests"."""
    app = make_app(make_settings(fhir_allowlist=["https://elsewhere.example/fhir"]))
    body = b.order_sign([b.draft("pazopanib", mg=800)], conditions=[b.condition("leiomyosarcoma")])
    del body["prefetch"]["populations"]
    body["fhirServer"] = fhir_base
    resp = app.test_client().post("/cds-services/sarcoma-order-sign", json=body)
    assert resp.status_code == 200, resp.get_json()
    cards = resp.get_json()["cards"]
    liver = [c for c in cards if "liver tests" in c["summary"]]
    assert liver, [c["summary"] for c in cards]
    assert "sent or found" in liver[0]["summary"]
    assert "could not be run" in liver[0]["detail"]
    assert "may exist in the record" in liver[0]["detail"]
