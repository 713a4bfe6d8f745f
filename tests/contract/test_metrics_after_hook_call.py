"""Issue 6: /metrics shows the series after a real hook call and feedback."""

from __future__ import annotations

from bench.workloads import order_sign_body


def test_metrics_show_cards_per_rule_mapping_issues_and_feedback(client):
    body = order_sign_body(200)
    body["prefetch"]["conditions"]["entry"].append(
        {
            "resource": {
                "resourceType": "Condition",
                "id": "bad",
                "subject": {"reference": "Patient/bench-gist-1"},
                "code": {"text": "leiomyosarcoma"},
                "modifierExtension": [{"url": "http://example.org/negated", "valueBoolean": True}],
            }
        }
    )
    resp = client.post("/cds-services/sarcoma-order-sign", json=body)
    card = resp.get_json()["cards"][0]
    feedback = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"system": "urn:sarcoma-cds:override-reason", "code": "tumour-board"}
        },
        "outcomeTimestamp": "2026-11-23T10:00:00Z",
    }
    assert (
        client.post(
            "/cds-services/sarcoma-order-sign/feedback", json={"feedback": [feedback]}
        ).status_code
        == 200
    )
    text = client.get("/metrics").get_data(as_text=True)
    rule = "gist-kit-exon9-draft-imatinib-400"
    assert (
        f'cds_cards_total{{indicator="warning",rule="{rule}",service="sarcoma-order-sign"}}' in text
    )
    assert 'cds_mapping_issues_total{kind="modifier-extension"}' in text
    assert (
        f'cds_feedback_total{{outcome="overridden",reason="tumour-board",rule="{rule}",'
        'service="sarcoma-order-sign"}'
    ) in text
    assert (
        'cds_requests_total{endpoint="/cds-services/<service_id>",service="sarcoma-order-sign"'
        ',status="200"}' in text
    )
    assert "cds_fhir_callback_duration_seconds_bucket" in text
