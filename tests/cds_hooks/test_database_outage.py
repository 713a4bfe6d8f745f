"""A PostgreSQL outage (through a proxy this test cuts and restores; the shared server keeps
running): feedback answers a retryable 503 instead of a 500, and no issued card loses its rule
attribution: the ledger keeps its rows until the database is back."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select, text

from bench.workloads import order_sign_body
from cds_hooks.store import issued_cards
from tests.conftest import POSTGRES_URL
from tests.tcp_proxy import TcpProxy


def _postgres_available() -> bool:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    if not _postgres_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is mandatory when CI=true")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    parts = urlsplit(POSTGRES_URL)
    running = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432)).start()
    yield running
    running.stop()


@pytest.fixture
def app(make_app, make_settings, proxy):
    parts = urlsplit(POSTGRES_URL)
    url = POSTGRES_URL.replace(parts.netloc, f"{parts.username}@127.0.0.1:{proxy.port}")
    built = make_app(make_settings(database_url=url))
    built.extensions["cds"].ledger.interval_s = 0.05
    built.extensions["cds"].ledger.max_backoff_s = 0.2
    return built


def feedback(card: str) -> dict:
    return {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"system": "urn:sarcoma-cds:override-reason", "code": "tumour-board"}
                },
                "outcomeTimestamp": "2026-11-30T10:00:00Z",
            }
        ]
    }


@pytest.mark.postgres
def test_feedback_during_an_outage_is_a_retryable_503_and_succeeds_after(app, proxy, caplog):
    client = app.test_client()
    card = str(uuid.uuid4())
    first = client.post("/cds-services/sarcoma-order-sign/feedback", json=feedback(card))
    assert first.status_code == 200
    proxy.stop()
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        resp = client.post("/cds-services/sarcoma-order-sign/feedback", json=feedback(card))
    assert time.monotonic() - started < 10
    assert resp.status_code == 503
    issue = resp.get_json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "database-unavailable"
    assert issue["code"] == "transient"
    assert int(resp.headers["Retry-After"]) > 0
    assert not [r for r in caplog.records if r.getMessage().startswith("unhandled_error")]
    assert client.get("/readyz").status_code == 503
    proxy.start()
    retried = client.post("/cds-services/sarcoma-order-sign/feedback", json=feedback(card))
    assert retried.status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.postgres
def test_cards_issued_during_an_outage_keep_their_rule_attribution(app, proxy, caplog):
    client = app.test_client()
    engine = app.extensions["cds"].store.engine
    issued: list[str] = []

    def attributed() -> dict[str, str]:
        query = select(issued_cards.c.card_uuid, issued_cards.c.rule_id).where(
            issued_cards.c.card_uuid.in_(issued)
        )
        with engine.connect() as conn:
            return {row.card_uuid: row.rule_id for row in conn.execute(query)}

    proxy.stop()
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            body = order_sign_body(20)
            body["hookInstance"] = str(uuid.uuid4())  # card uuids derive from it
            resp = client.post("/cds-services/sarcoma-order-sign", json=body)
            assert resp.status_code == 200  # a hook call does not need the database
            issued.extend(card["uuid"] for card in resp.get_json()["cards"])
        time.sleep(0.5)  # the ledger thread tries and fails meanwhile
        proxy.start()
        deadline = time.monotonic() + 10
        while len(rows := attributed()) < len(issued) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert len(set(issued)) >= 20
    assert set(rows) == set(issued), (len(rows), len(issued))
    assert all(rows.values())
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("card_ledger_deferred") for m in messages)
    assert any(m.startswith("card_ledger_recovered") for m in messages)
