"""BufferingWorker's least-loaded accept, driven by hand: a worker holding more connections
than another leaves a waiting connection to it, takes it after the recheck when nobody did, and
when told to stop while it waits, serves the queued connection instead of listening again."""

from __future__ import annotations

import logging
import os
import selectors
import socket
import time
from collections.abc import Iterator

import pytest
from gunicorn.config import Config

from cds_hooks import accept_balance
from cds_hooks.http_worker import BufferingWorker


@pytest.fixture
def worker() -> Iterator[tuple[BufferingWorker, socket.socket, int]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    cfg = Config()
    cfg.set("workers", 2)
    saved = accept_balance.table
    accept_balance.table = accept_balance.ConnectionTable(slots=4)
    other = accept_balance.table.join(os.getpid() + 1_000_000)  # an idle sibling worker
    w = BufferingWorker(1, os.getpid(), [listener], None, 30, cfg, logging.getLogger("t"))
    w.poller = selectors.DefaultSelector()
    w._row = accept_balance.table.join(os.getpid())
    w.alive = True
    w.set_accept_enabled(True)
    try:
        yield w, listener, other
    finally:
        accept_balance.table = saved
        for conn in list(w.reading):
            conn.sock.close()
        w.tmp.close()  # gunicorn's heartbeat file
        w.poller.close()
        listener.close()


def _connect(listener: socket.socket) -> socket.socket:
    client = socket.create_connection(listener.getsockname())
    time.sleep(0.05)  # in the listen queue
    return client


def _listening(w: BufferingWorker, listener: socket.socket) -> bool:
    return any(key.fileobj is listener for key in w.poller.get_map().values())


def test_a_busier_worker_leaves_the_connection_then_takes_it_if_nobody_did(worker):
    w, listener, _ = worker
    w.nr_conns = 1  # it holds one; the sibling holds none
    client = _connect(listener)
    w.accept(listener)
    assert w.nr_conns == 1 and not w.reading  # left to the sibling
    assert not _listening(w, listener)
    w.set_accept_enabled(True)  # what gunicorn's loop asks every turn: refused until the recheck
    assert not _listening(w, listener)
    deadline = time.monotonic() + 1
    while not w.reading and time.monotonic() < deadline:  # the sibling never takes it
        w.wait_for_and_dispatch_events(0.01)
    assert w.nr_conns == 2 and len(w.reading) == 1  # taken within MAX_DEFER_S
    assert _listening(w, listener)
    client.close()


def test_a_worker_holding_no_more_than_the_others_takes_the_connection_at_once(worker):
    w, listener, other = worker
    accept_balance.table.publish(other, 3)
    w.nr_conns = 3
    w._last_accept = 0.0
    client = _connect(listener)
    w.accept(listener)
    assert w.nr_conns == 4 and len(w.reading) == 1
    client.close()


def test_a_worker_told_to_stop_while_it_waits_serves_the_queued_connection(worker):
    w, listener, _ = worker
    w.nr_conns = 1
    client = _connect(listener)
    w.accept(listener)
    assert not w.reading
    w.alive = False  # SIGTERM
    w.set_accept_enabled(False)
    assert w.nr_conns == 2 and len(w.reading) == 1  # drained from the listen queue
    time.sleep(accept_balance.RECHECK_S * 2)
    w.wait_for_and_dispatch_events(0)
    assert not _listening(w, listener)  # the recheck does not reopen a stopping worker
    client.close()
