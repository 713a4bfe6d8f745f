"""Feedback endpoint (spec section L, items 74-81) and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from cds_hooks.models import FeedbackItem
from cds_hooks.store import FeedbackStore, make_engine, migrate
from tests.cds_hooks.echo_service import STAND_IN_KB, echo_registry
from tests.conftest import POSTGRES_URL

ACCEPTED = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2026-11-23T10:00:00.123Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    # The Sandbox sends code and system only (item 77): display must not be required.
    "overrideReason": {
        "reason": {"code": "tumour-board", "system": "urn:sarcoma-cds:override"},
        "userComment": "discussed at tumour board",
    },
    "outcomeTimestamp": "2026-11-23T10:01:00Z",
}


@pytest.fixture
def fb(make_app):
    app = make_app(registry=echo_registry(), kb=STAND_IN_KB)
    return app, app.test_client()


def test_item75_78_batch_with_duplicates_is_accepted_and_stored_once(fb):
    app, client = fb
    resp = client.post(
        "/cds-services/echo/feedback", json={"feedback": [ACCEPTED, OVERRIDDEN, ACCEPTED]}
    )
    assert resp.status_code == 200
    again = client.post("/cds-services/echo/feedback", json={"feedback": [OVERRIDDEN]})
    assert again.status_code == 200
    stored = app.extensions["cds"].store.all()
    assert [(s.outcome, s.override_code) for s in stored] == [
        ("accepted", None),
        ("overridden", "tumour-board"),
    ]
    assert stored[0].accepted_suggestions == ["e56e1945-20b3-4393-8503-a1a20fd73152"]


def test_item78_unknown_card_uuids_are_accepted(fb):
    _, client = fb
    item = {**OVERRIDDEN, "card": str(uuid.uuid4())}
    assert client.post("/cds-services/echo/feedback", json={"feedback": [item]}).status_code == 200


def test_item77_overridden_without_reason_is_normal(fb):
    _, client = fb
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-23T10:00:00Z"}
    assert client.post("/cds-services/echo/feedback", json={"feedback": [item]}).status_code == 200


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ({**ACCEPTED, "acceptedSuggestions": None}, "feedback[0]"),
        ({**ACCEPTED, "outcome": "ignored"}, "feedback[0].outcome"),
        ({k: v for k, v in ACCEPTED.items() if k != "card"}, "feedback[0].card"),
        ({**ACCEPTED, "outcomeTimestamp": "yesterday"}, "feedback[0].outcomeTimestamp"),
        ({**ACCEPTED, "acceptedSuggestions": ["e56e"]}, "feedback[0].acceptedSuggestions[0]"),
    ],
)
def test_item76_invalid_feedback_answers_400_naming_the_field(fb, item, path):
    _, client = fb
    resp = client.post("/cds-services/echo/feedback", json={"feedback": [item]})
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == [path]


def test_feedback_for_unknown_service_is_404(fb):
    _, client = fb
    resp = client.post("/cds-services/nope/feedback", json={"feedback": [ACCEPTED]})
    assert resp.status_code == 404


def _store_roundtrip(engine) -> None:
    migrate(engine)
    store = FeedbackStore(engine)
    service = f"svc-{uuid.uuid4()}"
    items = [FeedbackItem.model_validate(ACCEPTED), FeedbackItem.model_validate(OVERRIDDEN)]
    store.record(service, items)
    store.record(service, items)  # a retry: idempotent
    stored = store.all(service)
    assert [s.outcome for s in stored] == ["accepted", "overridden"]
    assert store.ping()


def test_store_is_idempotent_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/fb.sqlite3")
    _store_roundtrip(engine)
    engine.dispose()


def _postgres_available() -> bool:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    finally:
        engine.dispose()
    return True


@pytest.fixture
def postgres_engine():
    if not _postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is mandatory when CI=true")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    engine = make_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_store_is_idempotent_on_postgresql(postgres_engine):
    _store_roundtrip(postgres_engine)


@pytest.mark.postgres
def test_feedback_endpoint_on_postgresql(make_app, make_settings, postgres_engine):
    app = make_app(
        make_settings(database_url=POSTGRES_URL), registry=echo_registry(), kb=STAND_IN_KB
    )
    card = str(uuid.uuid4())
    item = {**OVERRIDDEN, "card": card}
    client = app.test_client()
    for _ in range(2):
        assert (
            client.post("/cds-services/echo/feedback", json={"feedback": [item]}).status_code == 200
        )
    stored = [s for s in app.extensions["cds"].store.all("echo") if s.card_uuid == card]
    assert len(stored) == 1


def test_migration_upgrades_an_old_schema_without_losing_rows(tmp_path):
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    engine0 = create_engine(url)
    with engine0.begin() as conn:  # the schema as migration 1 left it, with a row in it
        conn.execute(
            text(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                "name VARCHAR(200) NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO schema_migrations VALUES (1, 'feedback table', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE cds_feedback (id INTEGER PRIMARY KEY, dedupe_key VARCHAR(64) "
                "NOT NULL UNIQUE, service_id VARCHAR(200) NOT NULL, "
                "card_uuid VARCHAR(200) NOT NULL, "
                "outcome VARCHAR(20) NOT NULL, accepted_suggestions TEXT, override_system "
                "VARCHAR(500), override_code VARCHAR(200), override_display VARCHAR(500), "
                "user_comment TEXT, outcome_timestamp VARCHAR(64) NOT NULL, received_at TIMESTAMP "
                "NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cds_feedback (dedupe_key, service_id, card_uuid, outcome, "
                "outcome_timestamp, received_at) VALUES ('k', 's', 'card-1', "
                "'overridden', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00')"
            )
        )
    engine0.dispose()
    engine = make_engine(url)
    assert migrate(engine) == [2, 3, 4]
    assert migrate(engine) == []
    columns = {c["name"] for c in inspect(engine).get_columns("cds_feedback")}
    assert "client_iss" in columns
    assert [s.card_uuid for s in FeedbackStore(engine).all()] == ["card-1"]
    engine.dispose()


def test_feedback_report_attributes_feedback_to_the_rule_that_issued_the_card(
    make_app, make_settings, tmp_path, capsys
):
    import json as _json

    from cds_hooks.cli import main

    url = f"sqlite:///{tmp_path}/report.sqlite3"
    app = make_app(make_settings(database_url=url), registry=echo_registry(), kb=STAND_IN_KB)
    client = app.test_client()
    hook = {
        "hook": "patient-view",
        "hookInstance": "0e9f3b0e-1b1e-4c55-8d65-0c0f8e7b6a11",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {"patient": None, "conditions": None},
    }
    card = client.post("/cds-services/echo", json=hook).get_json()["cards"][0]
    overridden = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "system": "urn:x",
                "code": "tumour-board",
                "display": "Tumour board decision",
            }
        },
        "outcomeTimestamp": "2026-11-23T10:00:00Z",
    }
    unknown = {**overridden, "card": "not-issued-here", "overrideReason": {}}
    assert (
        client.post(
            "/cds-services/echo/feedback", json={"feedback": [overridden, unknown]}
        ).status_code
        == 200
    )
    assert main(["feedback-report", "--json", "--database-url", url]) == 0
    output = _json.loads(capsys.readouterr().out)
    report = {r["rule"]: r for r in output["rules"]}
    assert report["echo-rule"]["overridden"] == 1
    assert report["echo-rule"]["override_reasons"] == {"Tumour board decision": 1}
    # feedback for a card this service never issued is recorded apart, counted for no rule
    assert set(report) == {"echo-rule"}
    assert output["not_issued"] == {"overridden": 1}
    assert main(["feedback-report", "--database-url", url]) == 0
    table = capsys.readouterr().out
    assert "echo-rule" in table and "1 feedback item named cards this service never" in table
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'cds_feedback_total{outcome="overridden",reason="other",rule="echo-rule",' in metrics


def test_feedback_report_reads_only_the_database_url(tmp_path, monkeypatch, capsys):
    """A reporting host has no trusted-clients file: the report does not ask for one."""
    from cds_hooks.cli import main

    url = f"sqlite:///{tmp_path}/only-db.sqlite3"
    for name in ("CDS_AUTH_MODE", "CDS_TRUSTED_CLIENTS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDS_DATABASE_URL", url)
    monkeypatch.setenv("CDS_HOST", "0.0.0.0")  # a non-loopback host with jwt, the default
    assert main(["feedback-report"]) == 0
    assert capsys.readouterr().out.strip() == "no feedback on issued cards yet"
    monkeypatch.setenv("CDS_DATABASE_URL", "not-a-database-url")
    assert main(["feedback-report"]) == 2
    assert "database is unavailable" in capsys.readouterr().err
