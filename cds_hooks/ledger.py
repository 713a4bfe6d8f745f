"""The issued-cards ledger: which rule produced each card uuid, so feedback can be attributed.

Writes are batched off the request path: :meth:`CardLedger.record` only appends to a queue, and
a daemon thread (started lazily in each gunicorn worker) inserts the batch every half second.
A batch the database refuses is kept, not dropped: it stays queued (oldest first) and is
written when the database is back, retried with a backoff of up to ``max_backoff_s``. The queue
is bounded (``max_pending`` rows); what does not fit is counted and logged as lost. When a
worker exits (recycled or stopped), :meth:`CardLedger.close` writes what is still queued.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from cds_hooks.observability import LEDGER_LOST, LEDGER_PENDING
from cds_hooks.store import _insert, database_errors, issued_cards

log = logging.getLogger(__name__)


class CardLedger:
    def __init__(
        self,
        engine: Engine,
        interval_s: float = 0.5,
        max_pending: int = 200_000,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.max_pending = max_pending
        self.max_backoff_s = max_backoff_s
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one insert at a time, so the order is kept
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._deferred = False  # the last write failed; rows are waiting for the database

    def record(self, service_id: str, cards: Iterable[tuple[str, str, str]]) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "card_uuid": u,
                "service_id": service_id,
                "rule_id": r,
                "indicator": i,
                "issued_at": now,
            }
            for u, r, i in cards
        ]
        if not rows:
            return
        with self._lock:
            room = self.max_pending - len(self._pending)
            kept = rows[: max(room, 0)]
            self._pending.extend(kept)
            LEDGER_PENDING.inc(len(kept))
            if len(kept) < len(rows):
                LEDGER_LOST.inc(len(rows) - len(kept))
                log.error("card_ledger_full lost=%d pending=%d", len(rows) - len(kept), room)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True, name="card-ledger")
                self._thread.start()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        delay = self.interval_s
        while True:
            time.sleep(delay)
            try:
                self.flush()
                delay = self.interval_s
            except Exception:  # the ledger must never take the service down; it retries
                delay = min(delay * 2, self.max_backoff_s)

    def flush(self) -> int:
        """Write every queued row; on failure they stay queued and the error is raised
        (:class:`~cds_hooks.errors.DatabaseUnavailable` when the database cannot be reached)."""
        with self._flushing:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return 0
            unique = list({row["card_uuid"]: row for row in rows}.values())
            stmt = _insert(self.engine, issued_cards).on_conflict_do_nothing(
                index_elements=["card_uuid"]
            )
            try:
                with database_errors(), self.engine.begin() as conn:
                    conn.execute(stmt, unique)
            except Exception as exc:
                with self._lock:
                    self._pending[:0] = rows  # back in front: nothing is lost, order is kept
                    waiting = len(self._pending)
                if not self._deferred:
                    log.warning(
                        "card_ledger_deferred rows=%d error=%s", waiting, type(exc).__name__
                    )
                self._deferred = True
                raise
            LEDGER_PENDING.dec(len(rows))
            if self._deferred:
                log.warning("card_ledger_recovered rows=%d", len(unique))
                self._deferred = False
            return len(unique)

    def close(self, attempts: int = 3, pause_s: float = 0.5) -> None:
        """Write what is queued before the process exits; what cannot be written is counted
        and logged as lost (the process is going away)."""
        for attempt in range(attempts):
            try:
                self.flush()
                return
            except Exception:
                if attempt + 1 < attempts:
                    time.sleep(pause_s)
        lost = self.pending()
        if lost:
            LEDGER_LOST.inc(lost)
            log.error("card_ledger_lost_at_exit rows=%d", lost)
