"""JWKS fetching (cache, rotation, rate limit, no redirects, size cap, timeout) and the jti replay
cache across app instances: two apps sharing one SQLite file, and PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

from cds_hooks.auth import RemoteJwks, ReplayCache
from cds_hooks.store import jwt_replay, make_engine, migrate
from tests.conftest import POSTGRES_URL
from tests.security.conftest import Env
from tests.security.kit import (
    DISCOVERY_AUD,
    SANDBOX_ISS,
    Keys,
    claims,
    counting_server,
    public_jwk,
    sign,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remote(url: str, clock: FakeClock, **kwargs) -> RemoteJwks:
    return RemoteJwks(url, requests.Session(), monotonic=clock, **kwargs)


def test_jwks_is_cached(keys: Keys):
    with counting_server() as server:
        server.json_route("/j", {"keys": [public_jwk(keys.ec384, "a")]})
        clock = FakeClock()
        source = remote(f"{server.base}/j", clock)
        for _ in range(5):
            assert source.get("a") is not None
        assert len(server.hits) == 1
        clock.now += 3601  # after the TTL the set is fetched again
        assert source.get("a") is not None
        assert len(server.hits) == 2


def test_unknown_kid_refetches_once_so_key_rotation_works(keys: Keys):
    with counting_server() as server:
        server.json_route("/j", {"keys": [public_jwk(keys.ec384, "old")]})
        clock = FakeClock()
        source = remote(f"{server.base}/j", clock)
        assert source.get("old") is not None
        server.json_route("/j", {"keys": [public_jwk(keys.ec384, "new")]})
        assert source.get("new") is None  # within the rate limit: no refetch
        assert len(server.hits) == 1
        clock.now += 31
        assert source.get("new") is not None  # one refetch finds the rotated key
        assert len(server.hits) == 2
        for kid in ("x1", "x2", "x3"):  # a flood of unknown kids costs at most one fetch
            assert source.get(kid) is None
        clock.now += 31
        for kid in ("y1", "y2", "y3"):
            assert source.get(kid) is None
        assert len(server.hits) == 3


def test_rotation_end_to_end(build_env, keys: Keys):
    env: Env = build_env()
    source = env.app.extensions["cds.auth"].issuers[SANDBOX_ISS].keys
    source.min_refetch_s = 0
    assert env.discovery(env.sandbox_token(DISCOVERY_AUD)).status_code == 200
    env.jwks.json_route(
        "/.well-known/jwks.json", {"keys": [public_jwk(keys.ec384, "rotated", "ES384")]}
    )
    token = sign(
        keys.ec384, claims(SANDBOX_ISS, DISCOVERY_AUD), alg="ES384", kid="rotated", jku=env.jku
    )
    assert env.discovery(token).status_code == 200
    assert len(env.jwks.hits) == 2


def test_jwks_redirect_is_not_followed(keys: Keys):
    with counting_server() as target, counting_server() as server:
        target.json_route("/j", {"keys": [public_jwk(keys.ec384, "a")]})
        server.redirect_route("/j", f"{target.base}/j")
        source = remote(f"{server.base}/j", FakeClock())
        assert source.get("a") is None
        assert target.hits == []


@pytest.mark.parametrize(
    "route",
    [
        lambda _h: (200, {}, b"x" * (300 * 1024)),  # larger than the cap
        lambda _h: (200, {}, b"<html>not json</html>"),
        lambda _h: (500, {}, b"{}"),
        lambda _h: (200, {}, b'{"keys": "nope"}'),
    ],
)
def test_bad_jwks_responses_yield_no_keys_and_keep_old_ones(keys: Keys, route):
    with counting_server() as server:
        server.json_route("/j", {"keys": [public_jwk(keys.ec384, "a")]})
        clock = FakeClock()
        source = remote(f"{server.base}/j", clock)
        assert source.get("a") is not None
        server.routes["/j"] = route
        clock.now += 3601
        assert source.get("b") is None
        assert source.get("a") is not None  # the keys we had survive a bad refresh
        assert len(server.hits) == 2


def test_jwks_fetch_is_bounded_by_a_timeout(keys: Keys):
    def slow(_h):
        time.sleep(3)
        return 200, {}, b"{}"

    with counting_server() as server:
        server.routes["/j"] = slow
        source = remote(f"{server.base}/j", FakeClock(), timeout_s=0.5)
        started = time.monotonic()
        assert source.get("a") is None
        assert time.monotonic() - started < 2.5


# -- replay across instances -------------------------------------------------------------------


def test_replayed_jti_is_rejected_across_two_app_instances_sharing_sqlite(build_env):
    first: Env = build_env()
    second: Env = build_env()  # same settings, same SQLite file, separate engine and app
    assert first.settings.database_url == second.settings.database_url
    assert first.app is not second.app
    token = first.epic_token(DISCOVERY_AUD)
    assert first.discovery(token).status_code == 200
    assert second.discovery(token).status_code == 401
    assert second.auth_codes()[-1] == "jti-replayed"


def _postgres_reachable() -> bool:
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return False
    return True


@pytest.mark.postgres
def test_replayed_jti_is_rejected_across_two_app_instances_sharing_postgresql(build_env):
    if not _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is mandatory when CI=true")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    first: Env = build_env(database_url=POSTGRES_URL)
    second: Env = build_env(database_url=POSTGRES_URL)
    token = first.sandbox_token(DISCOVERY_AUD)
    assert first.discovery(token).status_code == 200
    assert second.discovery(token).status_code == 401
    assert second.auth_codes()[-1] == "jti-replayed"
    fresh = second.sandbox_token(DISCOVERY_AUD)
    assert second.discovery(fresh).status_code == 200


def test_replay_cache_forgets_expired_entries_and_purges_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/r.sqlite3")
    migrate(engine)
    clock = FakeClock()
    clock.now = 1_000_000.0
    cache = ReplayCache(engine, clock=clock)
    jti = str(uuid.uuid4())
    assert cache.first_use("iss", jti, clock.now + 100)
    assert not cache.first_use("iss", jti, clock.now + 100)
    assert cache.first_use("other-iss", jti, clock.now + 100)
    clock.now += 101  # the first token is dead: its jti may be used by a new token
    assert cache.first_use("iss", jti, clock.now + 100)
    assert not cache.first_use("iss", jti, clock.now + 100)
    for i in range(5):
        cache.first_use("iss", f"old-{i}", clock.now + 1)
    clock.now += 400  # past the purge interval: expired rows are deleted
    cache.first_use("iss", "trigger", clock.now + 100)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(jwt_replay)).scalar_one() == 1
    engine.dispose()


def test_replay_store_failure_fails_closed(build_env):
    env: Env = build_env()
    env.app.extensions["cds.engine"].dispose()
    auth = env.app.extensions["cds.auth"]
    auth.replay.engine = make_engine("sqlite:////nonexistent-dir/for/sure/x.sqlite3")
    resp = env.discovery(env.epic_token(DISCOVERY_AUD))
    assert resp.status_code == 503
    assert resp.get_json()["issue"][0]["details"]["coding"][0]["code"] == "service-unavailable"
