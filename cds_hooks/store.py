"""Persistence through SQLAlchemy 2 Core: feedback (spec section L) and schema migrations.

SQLite by default (a file under ``data/``), PostgreSQL when ``CDS_DATABASE_URL`` says so.
The schema is created or migrated at start-up by :func:`migrate`, which applies numbered,
additive migrations recorded in ``schema_migrations``; rows are never dropped.
Feedback storage is idempotent: a unique key over the feedback's content makes retries and
duplicates harmless (item 78).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

from cds_hooks.errors import DatabaseUnavailable
from cds_hooks.models import FeedbackItem

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(64), nullable=False, unique=True),
    Column("service_id", String(200), nullable=False, index=True),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", Text, nullable=True),
    Column("override_system", String(500), nullable=True),
    Column("override_code", String(200), nullable=True),
    Column("override_display", String(500), nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("outcome_timestamp", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("client_iss", String(500), nullable=True),
)

jwt_replay = Table(
    "jwt_replay",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("expires_at", Integer, nullable=False, index=True),
)


issued_cards = Table(
    "cds_issued_cards",
    metadata,
    Column("card_uuid", String(64), primary_key=True),
    Column("service_id", String(200), nullable=False),
    Column("rule_id", String(200), nullable=False, index=True),
    Column("indicator", String(20), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)


def _m1_feedback(conn: Connection) -> None:
    schema_migrations.create(conn, checkfirst=True)
    feedback.create(conn, checkfirst=True)


def _m2_feedback_client(conn: Connection) -> None:
    columns = {c["name"] for c in inspect(conn).get_columns("cds_feedback")}
    if "client_iss" not in columns:
        conn.execute(text("ALTER TABLE cds_feedback ADD COLUMN client_iss VARCHAR(500)"))


def _m3_jwt_replay(conn: Connection) -> None:
    jwt_replay.create(conn, checkfirst=True)


def _m4_issued_cards(conn: Connection) -> None:
    issued_cards.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "feedback table", _m1_feedback),
    (2, "feedback client issuer column", _m2_feedback_client),
    (3, "jwt replay cache", _m3_jwt_replay),
    (4, "issued cards ledger (card uuid -> rule) for feedback attribution", _m4_issued_cards),
]


def make_engine(url: str) -> Engine:
    """Create the engine; for a SQLite file, create its folder and enable WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": 3} if parsed.get_backend_name() == "postgresql" else {}
    # pool_timeout: a request waits at most 3 s for a pooled connection during an outage.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_timeout=3,
        connect_args=connect_args,
    )


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn "the database cannot be reached" (refused, dropped, timed out, locked) into the
    retryable :class:`DatabaseUnavailable` (503); any other database error stays a bug."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        raise DatabaseUnavailable() from None
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable() from None
        raise


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations in order; return the versions applied now."""
    applied_now: list[int] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # One migrator at a time across workers/replicas.
            conn.execute(text("SELECT pg_advisory_xact_lock(724011)"))
        schema_migrations.create(conn, checkfirst=True)
        done = set(conn.execute(select(schema_migrations.c.version)).scalars())
        for version, name, apply in MIGRATIONS:
            if version in done:
                continue
            apply(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=version, name=name, applied_at=datetime.now(UTC)
                )
            )
            applied_now.append(version)
    return applied_now


def _insert(engine: Engine, table: Table) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    if engine.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {engine.dialect.name}")


def dedupe_key(service_id: str, item: FeedbackItem) -> str:
    reason = item.override_reason.reason if item.override_reason else None
    content = {
        "service": service_id,
        "card": item.card,
        "outcome": item.outcome,
        "accepted": sorted(s.id for s in item.accepted_suggestions or []),
        "reason": [reason.system, reason.code] if reason else None,
        "comment": item.override_reason.user_comment if item.override_reason else None,
        "ts": item.outcome_timestamp,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    service_id: str
    card_uuid: str
    outcome: str
    accepted_suggestions: list[str]
    override_code: str | None
    override_system: str | None
    outcome_timestamp: str


class FeedbackStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self, service_id: str, items: Iterable[FeedbackItem], client_iss: str | None = None
    ) -> int:
        """Store each distinct item once (duplicates are accepted, not stored twice); return how
        many distinct items the batch held."""
        rows = []
        now = datetime.now(UTC)
        seen: set[str] = set()
        for item in items:
            key = dedupe_key(service_id, item)
            if key in seen:
                continue
            seen.add(key)
            reason = item.override_reason.reason if item.override_reason else None
            rows.append(
                {
                    "dedupe_key": key,
                    "service_id": service_id,
                    "card_uuid": item.card,
                    "outcome": item.outcome,
                    "accepted_suggestions": json.dumps(
                        [s.id for s in item.accepted_suggestions or []]
                    )
                    if item.accepted_suggestions
                    else None,
                    "override_system": reason.system if reason else None,
                    "override_code": reason.code if reason else None,
                    "override_display": reason.display if reason else None,
                    "user_comment": item.override_reason.user_comment
                    if item.override_reason
                    else None,
                    "outcome_timestamp": item.outcome_timestamp,
                    "received_at": now,
                    "client_iss": client_iss,
                }
            )
        if not rows:
            return 0
        stmt = _insert(self.engine, feedback).on_conflict_do_nothing(index_elements=["dedupe_key"])
        with database_errors(), self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def all(self, service_id: str | None = None) -> list[StoredFeedback]:
        query = select(feedback).order_by(feedback.c.id)
        if service_id:
            query = query.where(feedback.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [
                StoredFeedback(
                    service_id=row.service_id,
                    card_uuid=row.card_uuid,
                    outcome=row.outcome,
                    accepted_suggestions=json.loads(row.accepted_suggestions or "[]"),
                    override_code=row.override_code,
                    override_system=row.override_system,
                    outcome_timestamp=row.outcome_timestamp,
                )
                for row in conn.execute(query)
            ]

    def rules_for(self, card_uuids: Iterable[str]) -> dict[str, str]:
        """The rule behind each known card uuid (from the issued-cards ledger)."""
        wanted = list(dict.fromkeys(card_uuids))
        if not wanted:
            return {}
        query = select(issued_cards.c.card_uuid, issued_cards.c.rule_id).where(
            issued_cards.c.card_uuid.in_(wanted)
        )
        with database_errors(), self.engine.connect() as conn:
            return {row.card_uuid: row.rule_id for row in conn.execute(query)}

    def report(self) -> list[dict[str, Any]]:
        """Feedback per rule: accepted / overridden counts and override reasons, for the cards
        this service issued (the ledger). Feedback naming any other card id is counted apart
        by :meth:`not_issued`: a client's test traffic or a stale id never skews a rule."""
        query = (
            select(
                issued_cards.c.rule_id,
                feedback.c.outcome,
                feedback.c.override_code,
                feedback.c.override_display,
                func.count().label("n"),
            )
            .select_from(
                feedback.join(issued_cards, feedback.c.card_uuid == issued_cards.c.card_uuid)
            )
            .group_by(
                issued_cards.c.rule_id,
                feedback.c.outcome,
                feedback.c.override_code,
                feedback.c.override_display,
            )
            .order_by(issued_cards.c.rule_id, feedback.c.outcome)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def not_issued(self) -> dict[str, int]:
        """Feedback items, by outcome, for card ids the ledger does not know (never issued by
        this service, or issued before the ledger existed): recorded, never attributed."""
        query = (
            select(feedback.c.outcome, func.count().label("n"))
            .select_from(
                feedback.outerjoin(issued_cards, feedback.c.card_uuid == issued_cards.c.card_uuid)
            )
            .where(issued_cards.c.card_uuid.is_(None))
            .group_by(feedback.c.outcome)
            .order_by(feedback.c.outcome)
        )
        with self.engine.connect() as conn:
            return {row.outcome: int(row.n) for row in conn.execute(query)}

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # readiness must answer, whatever the driver raises
            return False
        return True
