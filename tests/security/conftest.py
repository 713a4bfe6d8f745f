"""Fixtures of the security suite: a JWT-mode app with four trusted clients and a JWKS server.

The app under attack is built by ``create_app`` exactly as in production, with
``CDS_AUTH_MODE=jwt`` and a trusted-clients file written at test time. ``APP_KINDS`` holds
``test`` (a protocol-test registry) and, once the clinical services import, ``real``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from cds_hooks.settings import Settings
from tests.cds_hooks.echo_service import STAND_IN_KB, echo_registry
from tests.security.kit import (
    BASE_URL,
    EPIC_ISS,
    EPIC_KID,
    PS_ISS,
    PS_KID,
    SANDBOX_ISS,
    SANDBOX_KID,
    TENANT_ISS,
    TENANT_KID,
    CountingServer,
    Keys,
    bearer,
    claims,
    counting_server,
    public_jwk,
    sign,
)


def _real_services_available() -> bool:
    try:
        from cds_hooks.services import build_registry
        from rules import load_kb

        build_registry()
        load_kb()
    except Exception:  # the clinical modules are still being written by other engineers
        return False
    return True


APP_KINDS = ["test", "real"] if _real_services_available() else ["test"]

FEEDBACK_BODY = {
    "feedback": [
        {
            "card": "9f4b3a52-6c1e-4a8e-9d1b-2b6f5f7d3c10",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-01-01T10:00:00Z",
        }
    ]
}


def order_sign_body() -> dict[str, Any]:
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/sec-1",
            "patientId": "sec-p1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": []},
        },
    }


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys.mint()


@pytest.fixture
def jwks_server(keys: Keys) -> Iterator[CountingServer]:
    """Serves the Sandbox-shaped issuer's JWK Set (ES384) at /.well-known/jwks.json."""
    with counting_server() as server:
        server.json_route(
            "/.well-known/jwks.json", {"keys": [public_jwk(keys.ec384, SANDBOX_KID, "ES384")]}
        )
        yield server


def write_trusted_clients(
    directory: Path, keys: Keys, jku: str, fhir_servers: list[str] | None = None
) -> Path:
    (directory / "hospital-a-jwks.json").write_text(
        json.dumps({"keys": [public_jwk(keys.ec256, TENANT_KID)]})
    )
    entries = [
        {"iss": SANDBOX_ISS, "jku": jku, "description": "CDS Hooks Sandbox shape (ES384)"},
        {
            "iss": EPIC_ISS,
            "jwks": {"keys": [public_jwk(keys.rsa, EPIC_KID, "RS384")]},
            "fhir_servers": fhir_servers or [],
        },
        {
            "iss": TENANT_ISS,
            "jwks_file": "hospital-a-jwks.json",
            "tenants": ["hospital-a"],
            "fhir_servers": fhir_servers or [],
        },
        {"iss": PS_ISS, "jwks": {"keys": [public_jwk(keys.rsa_ps, PS_KID)]}},
    ]
    path = directory / "trusted-clients.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


@dataclass
class Env:
    """One JWT-mode app plus what a test needs to mint tokens for it."""

    app: Flask
    client: FlaskClient
    keys: Keys
    jwks: CountingServer
    settings: Settings
    kind: str
    service_id: str
    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def jku(self) -> str:
        return f"{self.jwks.base}/.well-known/jwks.json"

    def aud(self, path: str) -> str:
        return BASE_URL + path

    @property
    def service_path(self) -> str:
        return f"/cds-services/{self.service_id}"

    @property
    def feedback_path(self) -> str:
        return f"/cds-services/{self.service_id}/feedback"

    def sandbox_token(self, aud: str | list[str], **extra: Any) -> str:
        return sign(
            self.keys.ec384,
            claims(SANDBOX_ISS, aud, **extra),
            alg="ES384",
            kid=SANDBOX_KID,
            jku=self.jku,
        )

    def epic_token(self, aud: str | list[str], **extra: Any) -> str:
        return sign(self.keys.rsa, claims(EPIC_ISS, aud, **extra), alg="RS384", kid=EPIC_KID)

    def tenant_token(self, aud: str, **extra: Any) -> str:
        return sign(self.keys.ec256, claims(TENANT_ISS, aud, **extra), alg="ES256", kid=TENANT_KID)

    def discovery(self, token: str | None) -> Any:
        return self.client.get("/cds-services", headers=bearer(token) if token else {})

    def auth_codes(self) -> list[str]:
        return [
            r.getMessage().split("code=", 1)[1].split()[0]
            for r in self.records
            if r.getMessage().startswith("auth_failed code=")
        ]


class _Collect(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture
def collect_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at DEBUG and above, while the test runs."""
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def build_env(
    make_app: Callable[..., Flask],
    make_settings: Callable[..., Settings],
    keys: Keys,
    jwks_server: CountingServer,
    tmp_path: Path,
    collect_logs: list[logging.LogRecord],
) -> Callable[..., Env]:
    def _build(
        kind: str = "test",
        fhir_servers: list[str] | None = None,
        session: Any = None,
        **overrides: Any,
    ) -> Env:
        path = write_trusted_clients(
            tmp_path, keys, f"{jwks_server.base}/.well-known/jwks.json", fhir_servers
        )
        settings = make_settings(auth_mode="jwt", trusted_clients_file=path, **overrides)
        if kind == "real":
            app = make_app(settings, session=session)
            service_id = app.extensions["cds"].registry.all()[0].id
        else:
            app = make_app(settings, registry=echo_registry(), kb=STAND_IN_KB, session=session)
            service_id = "echo-sign"
        return Env(
            app=app,
            client=app.test_client(),
            keys=keys,
            jwks=jwks_server,
            settings=settings,
            kind=kind,
            service_id=service_id,
            records=collect_logs,
        )

    return _build


@pytest.fixture(params=APP_KINDS)
def env(request: pytest.FixtureRequest, build_env: Callable[..., Env]) -> Env:
    return build_env(request.param)
