"""Attacks that only mean something over a real socket: a werkzeug server thread (Host and
forwarding headers cannot move the audience; concurrent replays of one token) and the real
gunicorn service with two workers (replay across worker processes; no version banner)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from tests.peers import free_port
from tests.security.conftest import APP_KINDS, Env, write_trusted_clients
from tests.security.kit import BASE_URL, DISCOVERY_AUD, EPIC_ISS, EPIC_KID, Keys, claims, sign


@pytest.fixture
def live(build_env) -> Iterator[tuple[Env, str]]:
    env: Env = build_env()
    server = make_server("127.0.0.1", 0, env.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield env, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_host_and_forwarding_headers_cannot_change_the_audience(live):
    env, url = live
    spoofed = "https://evil.example.org/cds-services"
    for headers in (
        {"Host": "evil.example.org"},
        {"X-Forwarded-Host": "evil.example.org", "X-Forwarded-Proto": "https"},
        {"Forwarded": "host=evil.example.org;proto=https"},
    ):
        token = env.epic_token(spoofed)
        resp = requests.get(
            f"{url}/cds-services",
            headers={**headers, "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert resp.status_code == 401
        assert resp.content == b""
        # the audience is the configured external URL, whatever Host says
        token = env.epic_token(DISCOVERY_AUD)
        resp = requests.get(
            f"{url}/cds-services",
            headers={**headers, "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert resp.status_code == 200


def test_concurrent_replays_of_one_token_are_accepted_once(live):
    env, url = live
    token = env.epic_token(DISCOVERY_AUD)

    def hit(_: int) -> int:
        return requests.get(
            f"{url}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(hit, range(16)))
    assert sorted(statuses) == [200] + [401] * 15


# -- the real service under gunicorn -----------------------------------------------------------


@pytest.fixture
def gunicorn_service(tmp_path: Path, keys: Keys) -> Iterator[str]:
    if "real" not in APP_KINDS:
        pytest.skip("the clinical services are not importable yet")
    port = free_port()
    path = write_trusted_clients(
        tmp_path, keys, "https://sandbox.cds-hooks.org/.well-known/jwks.json"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update(
        CDS_HOST="127.0.0.1",
        CDS_PORT=str(port),
        CDS_AUTH_MODE="jwt",
        CDS_TRUSTED_CLIENTS_FILE=str(path),
        CDS_DATABASE_URL=f"sqlite:///{tmp_path}/gunicorn.sqlite3",
        CDS_BASE_URL=BASE_URL,
        CDS_WORKERS="2",
        CDS_LOG_LEVEL="WARNING",
    )
    exe = Path(sys.executable).with_name("sarcoma-cds")
    proc = subprocess.Popen(
        [str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stderr.close()


def test_gunicorn_workers_share_the_replay_cache_and_show_no_version(gunicorn_service, keys):
    base = gunicorn_service
    token = sign(keys.rsa, claims(EPIC_ISS, DISCOVERY_AUD), alg="RS384", kid=EPIC_KID)

    def hit(_: int) -> requests.Response:
        # a new connection per request, so both workers are exercised
        return requests.get(
            f"{base}/cds-services",
            headers={"Authorization": f"Bearer {token}", "Connection": "close"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(hit, range(12)))
    assert sorted(r.status_code for r in responses) == [200] + [401] * 11
    for resp in responses:
        server = resp.headers.get("Server", "")
        assert not any(ch.isdigit() for ch in server), server  # no version banner
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    unauth = requests.get(f"{base}/cds-services", timeout=10)
    assert unauth.status_code == 401
    assert unauth.content == b""
