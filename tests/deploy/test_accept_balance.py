"""Kept-alive connections are spread over the workers (``BufferingWorker``'s least-loaded
accept): a client that pools its connections (an EHR, or nginx's upstream ``keepalive``) keeps
each on the worker that accepted it, so a worker holding most of them serves most requests on
one core while another idles, and the calls pinned there wait (``bench/RESULTS.md``)."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.deploy.serve_process import Service, serve

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of the server side of the established connections on ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    return inodes


def _wait_for_workers(service: Service, workers: int) -> None:
    """gunicorn forks its workers a random 0-100 ms apart: the first answers /healthz while the
    last may not exist yet."""
    deadline = time.monotonic() + 30
    while len(service.workers()) < workers:
        assert time.monotonic() < deadline, "the workers did not all start"
        time.sleep(0.05)
    time.sleep(1)  # each has imported nothing new (preloaded) but still sets up its loop


def _connections_per_worker(service: Service, port: int) -> list[int]:
    children = service.workers()
    inodes = _established_inodes(port)
    counts = Counter({pid: 0 for pid in children})
    for pid in children:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                counts[pid] += 1
    return sorted(counts.values(), reverse=True)


@pytest.mark.parametrize(
    ("workers", "connections", "expected"), [(3, 6, [2, 2, 2]), (2, 8, [4, 4])]
)
def test_pooled_connections_are_spread_evenly_over_the_workers(
    tmp_path, workers, connections, expected
):
    with serve(tmp_path, CDS_WORKERS=str(workers)) as service:
        port = int(service.base.rsplit(":", 1)[1])
        _wait_for_workers(service, workers)
        pool = []
        try:
            for _ in range(connections):  # a client pool growing one connection at a time
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                assert response.status == 200
                assert response.getheader("Connection", "").lower() != "close"
                pool.append(conn)
            assert _connections_per_worker(service, port) == expected
            for conn in pool:  # each pooled connection still answers on its worker
                conn.request("GET", "/healthz")
                assert conn.getresponse().read()
        finally:
            for conn in pool:
                conn.close()


def test_connections_pinned_to_one_worker_move_back_once_the_other_can_take_them(tmp_path):
    """A worker that could not take connections (stopped here; in production: restarting after
    recycling) leaves its sibling with the whole pool; the sibling then closes one connection at
    a time after a response, the client reconnects, and the idle worker takes it."""
    with serve(tmp_path, CDS_WORKERS="2") as service:
        port = int(service.base.rsplit(":", 1)[1])
        _wait_for_workers(service, 2)
        frozen = service.workers()[0]
        pool = []
        closed = 0  # responses that closed their connection
        os.kill(frozen, signal.SIGSTOP)
        try:
            for _ in range(8):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                closed += response.getheader("Connection", "").lower() == "close"
                pool.append(conn)
            # every open one on the running worker (it already closed one or two to rebalance;
            # they reconnect when next used)
            pinned = _connections_per_worker(service, port)
            assert pinned[1] == 0 and pinned[0] >= 6
        finally:
            os.kill(frozen, signal.SIGCONT)
        try:
            for _ in range(12):  # the pool in use, as a client keeps using it
                for conn in pool:
                    conn.request("GET", "/healthz")  # reopens a connection the server closed
                    response = conn.getresponse()
                    response.read()
                    assert response.status == 200
                    closed += response.getheader("Connection", "").lower() == "close"
                time.sleep(0.12)
            assert _connections_per_worker(service, port) == [4, 4]
            assert 4 <= closed <= 6  # about one close per connection moved, no storm
        finally:
            for conn in pool:
                conn.close()
