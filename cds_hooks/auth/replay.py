"""The ``jti`` replay cache, in the shared database."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from sqlalchemy import Engine, delete

from cds_hooks.store import _insert, jwt_replay

REPLAY_PURGE_EVERY_S = 300.0


class ReplayCache:
    """``jti`` values seen, in the shared database: insert-or-conflict decides atomically, so a
    token is accepted once across workers and replicas. Rows expire with their token."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._last_purge = 0.0

    @staticmethod
    def key(iss: str, jti: str) -> str:
        return hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record the ``(iss, jti)`` pair; False when it was already recorded and unexpired."""
        now = self.clock()
        stmt = _insert(self.engine, jwt_replay).values(
            key=self.key(iss, jti), expires_at=math.ceil(expires_at)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"expires_at": stmt.excluded.expires_at},
            where=jwt_replay.c.expires_at < int(now),
        ).returning(jwt_replay.c.key)  # a row comes back only when inserted or revived
        with self.engine.begin() as conn:
            fresh = conn.execute(stmt).first() is not None
            if now - self._last_purge > REPLAY_PURGE_EVERY_S:
                self._last_purge = now
                conn.execute(delete(jwt_replay).where(jwt_replay.c.expires_at < int(now)))
        return fresh
