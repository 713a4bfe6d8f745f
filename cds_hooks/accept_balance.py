"""Which worker takes a new connection: the one holding the fewest.

Every gunicorn worker waits on the same listening socket, and the kernel wakes them all when a
connection arrives; the first to call ``accept`` wins, whatever it already carries. A client
that pools its connections (an EHR's HTTP client, nginx's upstream ``keepalive``) keeps each
one on the worker that accepted it, so the pool can end up 8/0/0 or 6/1/1 over three workers:
one worker serves most calls on one core while another idles, and the calls pinned to the busy
one wait (``bench/RESULTS.md``: a 6/1/1 split doubled the realistic record's p99).

:class:`ConnectionTable` is a small table in memory shared by the arbiter and its workers
(created before the fork): each worker publishes how many connections it holds, and takes a
waiting connection only when no live worker holds fewer and it did not take one in the last
:data:`PACE_S` per connection it holds. Otherwise it lets the connection wait for
:data:`RECHECK_S` and looks again; after :data:`MAX_DEFER_S` it takes it anyway, so a
connection never waits on a worker that cannot get to it. Ties race as before.

Connections already pinned unevenly (a worker restarted after recycling starts with none while
its sibling took over every reconnecting client) are moved back one at a time: a worker holding
more than one over the least loaded answers its next request with ``Connection: close``, which
every HTTP/1.1 client honours by opening a new connection for the next request, at most one
every :data:`SHED_PAUSE_S`.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.sharedctypes import RawArray
from typing import Any

#: How long a worker that holds more connections than another lets a new one wait before it
#: looks again (the less loaded worker normally takes it within a millisecond).
RECHECK_S = 0.001
#: The longest a worker lets a new connection wait for a less loaded worker: past this the
#: less loaded one is busy in a way that matters more than the balance (its main loop cannot
#: get the interpreter), and the connection is taken.
MAX_DEFER_S = 0.02
#: A worker that holds n connections takes another no sooner than n times this after its last
#: one: the counts of the other workers can be stale for a few milliseconds (a client that
#: drops its pool and opens a new one at once: the old connections are counted until each
#: worker's loop has seen them close), and a burst would otherwise all go to the worker that
#: noticed first.
PACE_S = 0.005
#: A worker holding more than one connection over the least loaded worker closes one of them
#: after its next response (``Connection: close``; the client reconnects and the balance above
#: places it), at most one per this pause, so that counts catch up between two.
SHED_PAUSE_S = 0.1
#: The longest a worker or the arbiter waits for the table's lock (held for microseconds).
LOCK_TIMEOUT_S = 1.0
#: Rows of the table per worker. The arbiter frees an exited worker's row before it forks the
#: replacement, so no more rows than workers are live; the spare ones cover a late free. A
#: worker that finds no row accepts unbalanced. Every hook call scans the rows, so few is better.
ROWS_PER_WORKER = 2


class ConnectionTable:
    """Connections held per worker, one row per live worker (pid, count)."""

    def __init__(self, slots: int) -> None:
        self._pids: Any = RawArray("i", slots)
        self._counts: Any = RawArray("i", slots)
        self._lock = multiprocessing.Lock()

    def join(self, pid: int) -> int:
        """Give the worker ``pid`` a row (called in the worker before it accepts); -1 if the
        table is full or its lock is stuck (a worker killed while holding it): that worker
        then accepts without balancing, as gunicorn does."""
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            return -1
        try:
            for row, holder in enumerate(self._pids):
                if holder in (0, pid):
                    self._pids[row] = pid
                    self._counts[row] = 0
                    return row
            return -1
        finally:
            self._lock.release()

    def leave(self, pid: int) -> None:
        """Free the rows of the worker ``pid`` (called by the arbiter when the worker exits).
        Only the arbiter frees rows, so a stuck lock does not stop it."""
        locked = self._lock.acquire(timeout=LOCK_TIMEOUT_S)
        try:
            for row, holder in enumerate(self._pids):
                if holder == pid:
                    self._counts[row] = 0
                    self._pids[row] = 0
        finally:
            if locked:
                self._lock.release()

    def publish(self, row: int, connections: int) -> None:
        self._counts[row] = connections

    def fewest_elsewhere(self, row: int) -> int | None:
        """The fewest connections any other live worker holds (``None``: no other worker)."""
        fewest: int | None = None
        for other, pid in enumerate(self._pids):
            if pid and other != row:
                count = self._counts[other]
                if fewest is None or count < fewest:
                    fewest = count
        return fewest


#: The table of this server, made by :func:`prepare` in the arbiter (``None``: no balancing,
#: e.g. the worker class run under another configuration).
table: ConnectionTable | None = None


def prepare(workers: int) -> None:
    """Make the table before the workers are forked (one worker needs none)."""
    global table  # noqa: PLW0603 - one table per server, made in the arbiter before the fork
    table = ConnectionTable(workers * ROWS_PER_WORKER) if workers > 1 else None


def forget(pid: int) -> None:
    """The worker ``pid`` has exited: its connections are gone with it."""
    if table is not None:
        table.leave(pid)
