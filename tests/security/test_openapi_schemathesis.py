"""Schemathesis against ``/openapi.json`` through the WSGI app (no network).

Two runs: with authentication off (the generated bodies reach the validators) and in JWT mode
with a fresh, correctly scoped token minted for every generated case. Checks: no 5xx, status
codes, content types, headers and response bodies conform to the document. Bounded by
``SCHEMATHESIS_EXAMPLES`` per operation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cds_hooks.settings import Settings
from cds_hooks.web import create_app
from tests.cds_hooks.echo_service import STAND_IN_KB, echo_registry
from tests.security.conftest import write_trusted_clients
from tests.security.kit import BASE_URL, EPIC_ISS, EPIC_KID, Keys, claims, sign

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "150"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SEEN: dict[str, list[int]] = {}
KEYS = Keys.mint()


def _build(folder: Path, auth: str) -> Flask:
    path = write_trusted_clients(folder, KEYS, "https://127.0.0.1:9/jwks.json")
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "base_url": BASE_URL,
        "database_url": f"sqlite:///{folder}/{auth}.sqlite3",
        "auth_mode": auth,
        "fhir_timeout_s": 0.5,
    }
    if auth == "jwt":
        values["trusted_clients_file"] = path
    return create_app(Settings(**values), registry=echo_registry(), kb=STAND_IN_KB)


@pytest.fixture(scope="module")
def apps(tmp_path_factory) -> Iterator[dict[str, Flask]]:
    folder = tmp_path_factory.mktemp("schemathesis")
    built = {"off": _build(folder, "off"), "jwt": _build(folder, "jwt")}
    yield built
    for app in built.values():
        app.extensions["cds.engine"].dispose()
    total = {k: len(v) for k, v in SEEN.items()}
    fivexx = sum(1 for v in SEEN.values() for s in v if s >= 500)
    print(f"\nschemathesis cases: {total}; 5xx seen: {fivexx}")


def _run(app: Flask, label: str, mode: GenerationMode, token: bool) -> None:
    """Drive schemathesis' hypothesis strategies directly (its pytest plugin does not support
    pytest 9 yet): every operation of the document, ``EXAMPLES`` cases each."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/cds-services",
        "/cds-services/{id}",
        "/cds-services/{id}/feedback",
    }
    for operation in operations:

        @SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            headers = {}
            if token:
                jwt = sign(
                    KEYS.rsa,
                    claims(EPIC_ISS, BASE_URL + case.formatted_path),
                    alg="RS384",
                    kid=EPIC_KID,
                )
                headers["Authorization"] = f"Bearer {jwt}"
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            SEEN.setdefault(label, []).append(response.status_code)

        run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_conformance_without_authentication(apps, mode):
    _run(apps["off"], f"off-{mode.value}", mode, token=False)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_conformance_with_a_fresh_token_per_case(apps, mode):
    _run(apps["jwt"], f"jwt-{mode.value}", mode, token=True)
    assert any(status == 200 for status in SEEN[f"jwt-{mode.value}"]) or mode.value == "negative"
