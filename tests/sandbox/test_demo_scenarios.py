"""Every demo patient, mapped and evaluated (and called through the service), yields the cards
its expectation line promises."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_hooks.demo import load_bundle, prefetch_for, resources_of, scenarios
from fhir_mapping import map_prefetch
from rules import evaluate, load_kb
from tests.sandbox.build_demo_bundles import DEMO_DIR, render
from tests.sandbox.conftest import AS_OF

SCENARIOS = scenarios()
REQUIRED_SCENARIOS = {
    "GIST KIT exon 11 first line": "gist-kit-exon11-first-line",
    "resected high-risk GIST (adjuvant setting)": "gist-resected-high-risk",
    "KIT exon 9": "gist-kit-exon9",
    "PDGFRA D842V": "gist-pdgfra-d842v",
    "GIST progressed on imatinib": "gist-progressed-on-imatinib",
    "KIT/PDGFRA wild-type GIST": "gist-wild-type",
    "leiomyosarcoma after anthracycline": "lms-after-anthracycline",
    "dedifferentiated liposarcoma": "ddlps",
    "IMT with an ALK fusion": "imt-alk-fusion",
    "NTRK fusion-positive sarcoma": "ntrk-fusion",
    "alveolar soft part sarcoma": "asps",
    "desmoplastic small round cell tumour": "dsrct",
    "sarcoma with no subtype recorded": "sarcoma-no-subtype",
}


def _index_entry(sid: str) -> dict[str, Any]:
    index = json.loads((DEMO_DIR / "index.json").read_text())
    return next(item for item in index["scenarios"] if item["id"] == sid)


def _call(sid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(prefetch, context) as a CDS client would send them for this scenario's hook."""
    scenario = next(s for s in SCENARIOS if s.id == sid)
    bundle = load_bundle(sid)
    prefetch = prefetch_for(bundle)
    context: dict[str, Any] = {"patientId": scenario.patient_id, "userId": "Practitioner/demo"}
    if scenario.hook != "patient-view":
        draft_ref = _index_entry(sid)["draftOrder"]
        by_ref = {f"{r['resourceType']}/{r['id']}": r for r in resources_of(bundle)}
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": by_ref[draft_ref]}],
        }
        if scenario.hook == "order-select":
            context["selections"] = [draft_ref]
        meds = prefetch["medications"]
        kept = [e for e in meds.get("entry", []) if e["resource"]["status"] != "draft"]
        prefetch["medications"] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(kept),
        }
        if kept:
            prefetch["medications"]["entry"] = kept
    return prefetch, context


def test_the_shipped_json_is_what_the_builder_makes() -> None:
    for name, content in render().items():
        assert (DEMO_DIR / name).read_text(encoding="utf-8") == content, (
            f"{name} is stale: run python -m tests.sandbox.build_demo_bundles"
        )
    shipped = {p.name for p in DEMO_DIR.glob("*.json")}
    assert shipped == set(render())


def test_every_scenario_of_the_issue_is_shipped() -> None:
    ids = {s.id for s in SCENARIOS}
    assert set(REQUIRED_SCENARIOS.values()) <= ids
    assert len({s.patient_id for s in SCENARIOS}) == len(SCENARIOS)
    for scenario in SCENARIOS:
        assert scenario.expectation and len(scenario.expectation) < 140
        assert scenario.expected_rules


@pytest.mark.parametrize("sid", [s.id for s in SCENARIOS])
def test_bundle_is_a_put_transaction_with_stable_ids(sid: str) -> None:
    bundle = load_bundle(sid)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    patient_id = next(s.patient_id for s in SCENARIOS if s.id == sid)
    seen = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        ref = f"{resource['resourceType']}/{resource['id']}"
        assert entry["request"] == {"method": "PUT", "url": ref}
        assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource["id"])
        assert ref not in seen
        seen.add(ref)
        if resource["resourceType"] != "Patient":
            assert resource["subject"] == {"reference": f"Patient/{patient_id}"}
    assert f"Patient/{patient_id}" in seen


@pytest.mark.parametrize("sid", [s.id for s in SCENARIOS])
def test_bundle_validates_as_fhir_r4(sid: str) -> None:
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(load_bundle(sid))


def test_bundles_use_only_the_verified_codes() -> None:
    """Spot-check the code systems the issue names: HGNC genes, single-gene LOINC, RxNorm
    ingredients, statusReason 266721009/407563006 and CancerDiseaseStatus 97509-4."""
    verified_hgnc = {"HGNC:6342", "HGNC:8803", "HGNC:427", "HGNC:3495", "HGNC:8033"}
    verified_rxnorm = {"282388", "357977", "3639", "5657", "714438"}
    stop_reasons: set[str] = set()
    statuses: set[str] = set()
    for scenario in SCENARIOS:
        for resource in resources_of(load_bundle(scenario.id)):
            for component in resource.get("component", []):
                for coding in component.get("valueCodeableConcept", {}).get("coding", []):
                    if coding["system"].startswith("http://www.genenames.org"):
                        assert coding["code"] in verified_hgnc
            if resource["resourceType"] == "MedicationRequest":
                (coding,) = resource["medicationCodeableConcept"]["coding"]
                assert coding["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
                assert coding["code"] in verified_rxnorm
                for reason in resource.get("statusReason", {}).get("coding", []):
                    stop_reasons.add(reason["code"])
            if resource["resourceType"] == "Observation":
                codes = {c["code"] for c in resource["code"].get("coding", [])}
                if "97509-4" in codes:
                    statuses.add(resource["valueCodeableConcept"]["coding"][0]["code"])
    assert stop_reasons == {"266721009", "407563006"}
    assert statuses == {"268910001", "359746009", "271299001"}


@pytest.mark.parametrize("sid", [s.id for s in SCENARIOS])
def test_rules_fire_as_the_expectation_says(sid: str) -> None:
    scenario = next(s for s in SCENARIOS if s.id == sid)
    prefetch, context = _call(sid)
    result = map_prefetch(prefetch, context)
    fired = [r.rule_id for r in evaluate(result.patient, load_kb(), AS_OF, scenario.hook)]
    for rule in scenario.expected_rules:
        assert rule in fired, f"{sid}: expected {rule}, got {fired}"
    for rule in scenario.absent_rules:
        assert rule not in fired, f"{sid}: {rule} must not fire"


@pytest.mark.parametrize("sid", [s.id for s in SCENARIOS])
def test_service_answers_with_the_expected_cards(client: FlaskClient, sid: str) -> None:
    """Through the real HTTP service (prefetch as the Sandbox sends it)."""
    scenario = next(s for s in SCENARIOS if s.id == sid)
    prefetch, context = _call(sid)
    service = {
        "patient-view": "sarcoma-patient-view",
        "order-select": "sarcoma-order-select",
        "order-sign": "sarcoma-order-sign",
    }[scenario.hook]
    response = client.post(
        f"/cds-services/{service}",
        json={
            "hookInstance": str(uuid.uuid4()),
            "hook": scenario.hook,
            "context": context,
            "prefetch": prefetch,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    assert cards, f"{sid}: no cards"
    text = json.dumps(cards).lower()
    keyword = EXPECTED_WORDS[sid]
    assert keyword in text, f"{sid}: {keyword!r} not on any card"


#: A word the expectation line promises and the cards must show.
EXPECTED_WORDS = {
    "gist-kit-exon11-first-line": "imatinib",
    "gist-resected-high-risk": "adjuvant",
    "gist-kit-exon9": "800",
    "gist-pdgfra-d842v": "avapritinib",
    "gist-progressed-on-imatinib": "sunitinib",
    "gist-wild-type": "wild-type",
    "lms-after-anthracycline": "trabectedin",
    "ddlps": "anthracycline",
    "imt-alk-fusion": "crizotinib",
    "ntrk-fusion": "trk inhibitor",
    "asps": "atezolizumab",
    "dsrct": "case report",
    "sarcoma-no-subtype": "subtype",
}
