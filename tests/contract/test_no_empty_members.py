"""Spec item 2 on the real app: no null, "", [] or {} in any answer, errors included."""

from __future__ import annotations

import pytest

from bench.workloads import order_sign_body
from tests.contract.wire import assert_valid_card, empty_members

PV = {
    "hook": "patient-view",
    "hookInstance": "e0b5f0c2-7d5e-4b59-9d7b-3c2f3f0e9a10",
    "context": {"userId": "Practitioner/1", "patientId": "bench-gist-1"},
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/cds-services", {}),
        ("post", "/cds-services/sarcoma-order-sign", {"json": order_sign_body(200)}),
        (
            "post",
            "/cds-services/sarcoma-patient-view",
            {"json": {**PV, "prefetch": order_sign_body(200)["prefetch"]}},
        ),
        (
            "post",
            "/cds-services/sarcoma-patient-view",  # no data at all: every key null
            {"json": {**PV, "prefetch": {k: None for k in order_sign_body(200)["prefetch"]}}},
        ),
        ("post", "/cds-services/sarcoma-patient-view", {"json": PV}),  # 412
        ("post", "/cds-services/sarcoma-patient-view", {"json": {"hook": "patient-view"}}),
        ("post", "/cds-services/unknown", {"json": PV}),
        ("delete", "/cds-services/sarcoma-patient-view", {}),
        ("post", "/cds-services/sarcoma-patient-view", {"data": "x", "content_type": "text/xml"}),
        (
            "post",
            "/cds-services/sarcoma-patient-view/feedback",
            {
                "json": {
                    "feedback": [
                        {
                            "card": "c",
                            "outcome": "overridden",
                            "outcomeTimestamp": "2026-11-23T10:00:00Z",
                        }
                    ]
                }
            },
        ),
        ("get", "/readyz", {}),
        ("get", "/healthz", {}),
    ],
)
def test_item2_no_empty_members_in_any_answer(client, method, path, kwargs):
    resp = getattr(client, method)(path, **kwargs)
    data = resp.get_json(silent=True)
    assert data is not None, f"{path} answered {resp.status_code} without a JSON body"
    assert empty_members(data) == []
    for card in data.get("cards", []):
        assert_valid_card(card)


def test_item64_no_advice_is_200_with_an_empty_cards_array(client):
    prefetch = {k: None for k in order_sign_body(200)["prefetch"]}
    body = order_sign_body(200)
    body["prefetch"] = prefetch
    body["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "paracetamol 1 g"
    }
    resp = client.post("/cds-services/sarcoma-order-sign", json=body)
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}
