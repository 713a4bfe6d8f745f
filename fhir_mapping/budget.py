"""A per-request CPU budget, checked cooperatively between units of work.

With threaded workers a request that keeps a thread busy on the CPU is never stopped by
gunicorn's worker timeout: the worker's main loop still gets the interpreter and keeps telling
the arbiter it is alive. So the work itself checks its budget. :func:`cpu_budget` gives the
calling thread a budget of CPU seconds (``time.thread_time``: the time this thread ran, not the
time it waited for the interpreter, a FHIR server or the machine); :func:`checkpoint`, called
between the stages of a hook call and by :func:`fhir_mapping.map_prefetch` in its loops over
the resources (there, and in :func:`fhir_mapping.prefilter.sift`, with ``now=True`` before
every :data:`EVERY` th resource, so without a call per resource), raises
:class:`WorkBudgetExceeded` once it is spent. No budget is set outside a hook call (the CLI,
the tests, the timeline), and then a checkpoint costs one context-variable lookup.

The CPU clock is read on every :data:`EVERY` th checkpoint only (reading it is a system call
of a few microseconds), and the mapping loops read it every :data:`EVERY` resources: either
way a request can overrun its budget by at most that many units of work, a few milliseconds,
since the bulk of each resource is bounded (:mod:`fhir_mapping.prune`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

#: Checkpoints between two readings of the CPU clock.
EVERY = 16


class WorkBudgetExceeded(Exception):
    """The current request used more CPU than its budget."""

    def __init__(self, budget_s: float) -> None:
        super().__init__(f"CPU budget of {budget_s:g} s exceeded")
        self.budget_s = budget_s


class _Budget:
    __slots__ = ("count", "deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds
        self.count = 0


_current: ContextVar[_Budget | None] = ContextVar("cpu_budget", default=None)


@contextlib.contextmanager
def cpu_budget(seconds: float | None) -> Iterator[None]:
    """Within the block, :func:`checkpoint` raises once this thread has used ``seconds`` of
    CPU (``None``: no budget)."""
    token = _current.set(_Budget(seconds) if seconds is not None else None)
    try:
        yield
    finally:
        _current.reset(token)


def checkpoint(*, now: bool = False) -> None:
    """Raise :class:`WorkBudgetExceeded` if the current budget is spent (``now``: read the
    clock at this call whatever the count)."""
    budget = _current.get()
    if budget is None:
        return
    budget.count += 1
    if (now or budget.count % EVERY == 0) and time.thread_time() > budget.deadline:
        raise WorkBudgetExceeded(budget.seconds)
