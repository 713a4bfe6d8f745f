"""/metrics after a hook call, and one structured JSON log line per request."""

from __future__ import annotations

import json
import logging

from cds_hooks.logs import JsonFormatter
from tests.cds_hooks.echo_service import STAND_IN_KB, echo_registry

BODY = {
    "hook": "patient-view",
    "hookInstance": "7f0e4b0a-7a37-4a43-9f3e-7c3b1f0b6b21",
    "context": {"userId": "Practitioner/1", "patientId": "p1"},
    "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"}, "conditions": None},
}


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_per_service_and_status(make_app):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    client.post("/cds-services/echo", json=BODY)
    client.post("/cds-services/echo", json={**BODY, "prefetch": {}})  # 412
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.mimetype == "text/plain"
    text = after.get_data(as_text=True)
    for status in ("200", "412"):
        labels = {"endpoint": "/cds-services/<service_id>", "service": "echo", "status": status}
        assert _sample(text, "cds_requests_total", **labels) == (
            _sample(before, "cds_requests_total", **labels) + 1
        )
    assert "cds_request_duration_seconds_bucket" in text


def test_unknown_service_ids_do_not_become_metric_labels(make_app):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)
    client = app.test_client()
    client.post("/cds-services/attacker-chosen-label", json=BODY)
    assert "attacker-chosen-label" not in client.get("/metrics").get_data(as_text=True)


def test_one_json_log_line_per_request_with_ids_codes_and_timings(make_app, caplog):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)
    with caplog.at_level(logging.INFO, logger="cds_hooks.access"):
        app.test_client().post("/cds-services/echo", json={**BODY, "prefetch": {}})
    records = [r for r in caplog.records if r.name == "cds_hooks.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["msg"] == "request"
    assert line["service"] == "echo"
    assert line["status"] == 412
    assert line["error_code"] == "prefetch-unavailable"
    assert isinstance(line["duration_ms"], float)


def test_access_line_says_how_each_prefetch_key_was_obtained(make_app, caplog):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)
    with caplog.at_level(logging.INFO, logger="cds_hooks.access"):
        app.test_client().post("/cds-services/echo", json=BODY)
    record = next(r for r in caplog.records if r.name == "cds_hooks.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["prefetch"] == "patient:prefetch,conditions:prefetch-null"
    assert line["hook_instance"] == BODY["hookInstance"]


def _prefetch_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cds_hooks.prefetch"]


def test_an_optional_key_not_sent_is_told_in_the_access_line_not_a_warning(make_app, caplog):
    """Most clients omit optional keys: one field of the access line, not a warning per key."""
    app = make_app(registry=echo_registry(required=False), kb=STAND_IN_KB)
    with caplog.at_level(logging.INFO):
        resp = app.test_client().post(
            "/cds-services/echo", json={**BODY, "prefetch": {"conditions": None}}
        )
    assert resp.status_code == 200
    assert _prefetch_warnings(caplog) == []
    record = next(r for r in caplog.records if r.name == "cds_hooks.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["prefetch"] == "patient:unavailable,conditions:prefetch-null"
    assert line["prefetch_unavailable"] == "patient:missing-and-no-usable-fhir-server"


def test_a_required_key_unavailable_warns_for_it_and_the_optional_keys_before_it(make_app, caplog):
    app = make_app(registry=echo_registry(required=False), kb=STAND_IN_KB)
    with caplog.at_level(logging.INFO):
        resp = app.test_client().post("/cds-services/echo", json={**BODY, "prefetch": {}})
    assert resp.status_code == 412
    assert _prefetch_warnings(caplog) == [
        "prefetch_unavailable key=patient reason=missing-and-no-usable-fhir-server required=False",
        "prefetch_unavailable key=conditions reason=missing-and-no-usable-fhir-server "
        "required=True",
    ]


def test_an_optional_key_sent_as_an_operation_outcome_still_warns(make_app, caplog):
    app = make_app(registry=echo_registry(required=False), kb=STAND_IN_KB)
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    with caplog.at_level(logging.INFO):
        resp = app.test_client().post(
            "/cds-services/echo",
            json={**BODY, "prefetch": {"patient": outcome, "conditions": None}},
        )
    assert resp.status_code == 200
    assert _prefetch_warnings(caplog) == [
        "prefetch_unavailable key=patient reason=outcome-and-no-usable-fhir-server required=False"
    ]
    record = next(r for r in caplog.records if r.name == "cds_hooks.access")
    assert record.prefetch_unavailable == "patient:outcome-and-no-usable-fhir-server"


def test_security_headers_replace_those_a_view_set_and_the_server_header_is_dropped(make_app):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)

    @app.get("/cached")
    def cached():  # type: ignore[no-untyped-def]
        return app.response_class(
            "x", headers={"Cache-Control": "max-age=60", "Server": "made-up/1.0"}
        )

    resp = app.test_client().get("/cached", headers={"Origin": "https://ehr.example"})
    assert resp.headers.getlist("Cache-Control") == ["no-store"]
    assert "Server" not in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Access-Control-Max-Age"] == "600"


def test_access_lines_carry_neither_caller_location_nor_thread_after_configure(capsys):
    from cds_hooks.logs import configure_logging

    saved = logging.getLogger().handlers[:], logging.getLogger().level
    switches = logging._srcfile, logging.logThreads, logging.logMultiprocessing  # type: ignore[attr-defined]
    try:
        configure_logging("INFO")
        logging.getLogger("cds_hooks.access").info("request", extra={"status": 200})
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers[:], level = saved
        logging.getLogger().setLevel(level)
        logging._srcfile, logging.logThreads, logging.logMultiprocessing = switches  # type: ignore[attr-defined]
    assert line["msg"] == "request" and line["status"] == 200
    assert set(line) == {"ts", "level", "logger", "msg", "status"}
