"""Discovery of the real services (spec section B, items 5-12, and E, items 25-29)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from cds_hooks.registry import check_template
from fhir_mapping.gist_risk import SEARCHABLE_LOINC as GIST_RISK_LOINC
from fhir_mapping.populations import LAB_CODES, LNC_PREGNANCY_STATUS
from tests.contract.wire import empty_members

LOINC = "http://loinc.org"

EXPECTED = {
    "sarcoma-patient-view": "patient-view",
    "sarcoma-order-select": "order-select",
    "sarcoma-order-sign": "order-sign",
}


def test_item5_6_discovery_lists_the_three_services(client):
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    services = resp.get_json()["services"]
    assert {s["id"]: s["hook"] for s in services} == EXPECTED


def test_item8_each_service_has_the_required_and_recommended_members(client):
    for service in client.get("/cds-services").get_json()["services"]:
        assert service["description"] and service["title"] and service["usageRequirements"]
        assert service["id"].replace("-", "").isalnum()
        assert set(service["prefetch"]) == {
            "patient",
            "conditions",
            "observations",
            "medications",
            "procedures",
            "reports",
            "specimens",
            "allergies",
            "populations",
        }


def test_items26_29_published_templates_obey_the_token_rules(client):
    for service in client.get("/cds-services").get_json()["services"]:
        for template in service["prefetch"].values():
            check_template(template, service["hook"])  # raises on any violation
            assert "{{context.patientId}}" in template


def test_item2_discovery_has_no_empty_members(client):
    assert empty_members(client.get("/cds-services").get_json()) == []


def test_item10_discovery_answers_cors_and_json_even_with_an_origin(client):
    resp = client.get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready"
    assert ready["checks"] == {"knowledge_base": True, "database": True}


def _searched_codes(templates: list[str], resource_type: str) -> set[str]:
    """``system|code`` tokens of the ``code`` parameters of a resource type's searches."""
    found: set[str] = set()
    for template in templates:
        path, _, query = template.partition("?")
        if path != resource_type:
            continue
        for name, value in parse_qsl(query):
            if name == "code":
                found |= set(value.split(","))
    return found


def test_observation_searches_name_every_population_code_the_mapping_reads(client):
    """Pregnancy status and the organ-function labs (fhir_mapping.populations' own code tables)
    are searched for: a client that honours the templates (or our own fetch) sends them."""
    wanted = {f"{LOINC}|{code}" for code in (LNC_PREGNANCY_STATUS, *LAB_CODES)}
    for service in client.get("/cds-services").get_json()["services"]:
        templates = list(service["prefetch"].values())
        missing = wanted - _searched_codes(templates, "Observation")
        assert not missing, (service["id"], sorted(missing))


def test_population_search_is_optional_newest_first_and_separate_from_the_genomic_one(client):
    """Labs are many: in the genomic search they would push the genomic results off the first
    page. Their own search is newest first, so the first page is the one the rules read."""
    for service in client.get("/cds-services").get_json()["services"]:
        populations = service["prefetch"]["populations"]
        assert "_sort=-date" in populations
        genomic = _searched_codes([service["prefetch"]["observations"]], "Observation")
        assert f"{LOINC}|{LNC_PREGNANCY_STATUS}" not in genomic
        assert not {f"{LOINC}|{code}" for code in LAB_CODES} & genomic


def test_observation_search_names_every_coded_gist_risk_factor_the_mapping_reads(client):
    """Tumour size (mCODE TumorSize, fhir_mapping.gist_risk's own code table) is searched for
    in the `observations` key: a client that resolves the templates (the Sandbox, Epic) or
    our own fetch sends it, and the adjuvant decision can read it."""
    wanted = {f"{LOINC}|{code}" for code in GIST_RISK_LOINC}
    assert wanted  # the table is not empty: tumour size has a code
    for service in client.get("/cds-services").get_json()["services"]:
        searched = _searched_codes([service["prefetch"]["observations"]], "Observation")
        missing = wanted - searched
        assert not missing, (service["id"], sorted(missing))
