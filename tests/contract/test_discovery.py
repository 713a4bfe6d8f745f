"""Discovery of the real services (spec section B, items 5-12, and E, items 25-29)."""

from __future__ import annotations

from cds_hooks.registry import check_template
from tests.contract.wire import empty_members

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
