"""Property-based fuzzing (hypothesis) of all three endpoints: malformed and adversarial JSON,
bodies, media types and tokens. Invariants: never a 5xx; every error is a well-formed
OperationOutcome with a stable code (401: an empty body); nothing echoes a stack trace.

Bounded to roughly a minute in total (``FUZZ_EXAMPLES`` scales it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_hooks.settings import Settings
from cds_hooks.web import create_app
from tests.cds_hooks.echo_service import STAND_IN_KB, echo_registry
from tests.security.conftest import write_trusted_clients
from tests.security.kit import (
    BASE_URL,
    EPIC_ISS,
    EPIC_KID,
    Keys,
    b64json,
    b64url,
    sign,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
STABLE_CODES = {
    "invalid-json",
    "invalid-request",
    "hook-not-served",
    "forbidden",
    "unknown-service",
    "not-found",
    "method-not-allowed",
    "prefetch-unavailable",
    "payload-too-large",
    "unsupported-media-type",
}
COUNTS: dict[str, int] = {}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
    database=None,
)


@pytest.fixture(scope="module")
def keys_module() -> Keys:
    return Keys.mint()


@pytest.fixture(scope="module")
def apps(tmp_path_factory, keys_module: Keys) -> Iterator[dict[str, Flask]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    path = write_trusted_clients(folder, keys_module, "https://127.0.0.1:9/jwks.json")
    common: dict[str, Any] = {
        "host": "127.0.0.1",
        "base_url": BASE_URL,
        "database_url": f"sqlite:///{folder}/fuzz.sqlite3",
        "max_body_bytes": 64 * 1024,
        "max_string_length": 4096,
        "max_json_depth": 16,
        "fhir_timeout_s": 0.5,
    }
    built = {
        "off": create_app(
            Settings(auth_mode="off", **common), registry=echo_registry(), kb=STAND_IN_KB
        ),
        "jwt": create_app(
            Settings(auth_mode="jwt", trusted_clients_file=path, **common),
            registry=echo_registry(),
            kb=STAND_IN_KB,
        ),
    }
    yield built
    for app in built.values():
        app.extensions["cds.engine"].dispose()
    print(f"\nfuzz examples per target: {COUNTS}")


def check(resp, target: str) -> None:
    COUNTS[target] = COUNTS.get(target, 0) + 1
    assert resp.status_code < 500, (resp.status_code, resp.data[:500])
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if resp.status_code == 401:
        assert resp.data == b""
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    elif resp.status_code >= 400:
        assert resp.mimetype == "application/json"
        outcome = json.loads(text)
        assert outcome["resourceType"] == "OperationOutcome"
        issue = outcome["issue"][0]
        assert issue["severity"] == "error"
        assert issue["details"]["coding"][0]["code"] in STABLE_CODES
        assert isinstance(issue["diagnostics"], str)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# -- strategies --------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "Patient/1",
            "Practitioner/x",
            "patient-view",
            "order-sign",
            "http://127.0.0.1:9/fhir",
            "javascript:alert(1)",
            "\u0000",
            "\ud7ff",
            "../../etc/passwd",
            "{{context.patientId}}",
            "x" * 5000,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "userId": scalars,
        "patientId": scalars,
        "encounterId": scalars,
        "draftOrders": json_values,
        "selections": json_values,
    },
)
hook_requests = st.fixed_dictionaries(
    {},
    optional={
        "hook": st.sampled_from(["patient-view", "order-sign", "order-select", ""]) | scalars,
        "hookInstance": st.uuids().map(str) | scalars,
        "fhirServer": st.sampled_from(
            [
                "http://127.0.0.1:9/fhir",
                "https://evil.example/fhir",
                "file:///etc/passwd",
                "gopher://x",
            ]
        )
        | scalars,
        "fhirAuthorization": json_values,
        "context": contexts | json_values,
        "prefetch": st.dictionaries(
            st.sampled_from(["patient", "conditions", "x"]), json_values, max_size=3
        )
        | json_values,
        "extension": json_values,
    },
)
feedback_requests = st.fixed_dictionaries(
    {},
    optional={
        "feedback": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "card": scalars,
                    "outcome": st.sampled_from(["accepted", "overridden", "ACCEPTED"]) | scalars,
                    "outcomeTimestamp": st.sampled_from(["2026-01-01T10:00:00Z", "yesterday"])
                    | scalars,
                    "acceptedSuggestions": json_values,
                    "overrideReason": json_values,
                },
            ),
            max_size=3,
        )
        | json_values
    },
)


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


raw_bodies = (
    st.binary(max_size=300)
    | st.integers(min_value=1, max_value=3000).map(_deep)
    | st.integers(min_value=1, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
    | st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"NaN",
            b"1e999999",
            b'{"a":1,"a":2}',
            b"\xef\xbb\xbf{}",
            b'{"hook":"\xff"}',
            b"{" * 10,
            b'"\\ud800"',
            b"x" * (70 * 1024),
        ]
    )
)
media_types = st.sampled_from(
    [
        "application/json",
        "application/fhir+json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "application/json; charset=utf-16",
        "APPLICATION/JSON",
    ]
)
service_ids = st.sampled_from(
    ["echo", "echo-sign", "nope", "..", "echo%2Ffeedback", "%00", "a" * 300]
) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
    min_size=1,
    max_size=20,
)


# -- the properties ----------------------------------------------------------------------------


@FUZZ
@given(
    body=hook_requests | json_values,
    service=st.sampled_from(["echo", "echo-sign"]),
    media=st.sampled_from(["application/json", "application/fhir+json"]),
)
def test_service_endpoint_never_fails_on_adversarial_json(apps, body, service, media):
    resp = (
        apps["off"]
        .test_client()
        .post(f"/cds-services/{service}", data=json.dumps(body), content_type=media)
    )
    check(resp, "service-json")


@FUZZ
@given(body=feedback_requests | json_values, service=service_ids)
def test_feedback_endpoint_never_fails_on_adversarial_json(apps, body, service):
    resp = (
        apps["off"]
        .test_client()
        .post(
            f"/cds-services/{service}/feedback",
            data=json.dumps(body),
            content_type="application/json",
        )
    )
    check(resp, "feedback-json")


@FUZZ
@given(
    raw=raw_bodies,
    media=media_types,
    service=service_ids,
    endpoint=st.sampled_from(["service", "feedback", "discovery"]),
    method=st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH"]),
)
def test_all_endpoints_never_fail_on_raw_bodies_media_types_and_methods(
    apps, raw, media, service, endpoint, method
):
    path = {
        "service": f"/cds-services/{service}",
        "feedback": f"/cds-services/{service}/feedback",
        "discovery": "/cds-services",
    }[endpoint]
    headers = {"Content-Type": media} if media else {}
    resp = apps["off"].test_client().open(path, method=method, data=raw, headers=headers)
    check(resp, "raw")


token_claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.just(EPIC_ISS) | scalars,
        "aud": st.just(f"{BASE_URL}/cds-services") | json_values,
        "exp": st.integers(min_value=-(2**40), max_value=2**40) | scalars,
        "iat": st.integers(min_value=-(2**40), max_value=2**40) | scalars,
        "nbf": st.integers(min_value=-(2**40), max_value=2**40) | scalars,
        "jti": st.uuids().map(str) | scalars,
        "tenant": scalars,
        "sub": json_values,
    },
)
token_headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS384", "ES384", "none", "HS256", "RS512"]) | scalars},
    optional={
        "kid": st.just(EPIC_KID) | scalars,
        "typ": st.just("JWT") | scalars,
        "jku": scalars,
        "crit": json_values,
        "jwk": json_values,
    },
)


@FUZZ
@given(
    payload=token_claims,
    header=token_headers,
    signed=st.booleans(),
    noise=st.text(max_size=60),
    endpoint=st.sampled_from(
        ["/cds-services", "/cds-services/echo-sign", "/cds-services/echo-sign/feedback"]
    ),
)
def test_authentication_never_fails_on_adversarial_tokens(
    apps, keys_module, payload, header, signed, noise, endpoint
):
    client = apps["jwt"].test_client()
    if signed:  # correctly signed by the trusted key, with adversarial claims
        extra = {k: v for k, v in header.items() if k not in {"alg", "typ", "kid"}}
        try:
            token = sign(keys_module.rsa, payload, alg="RS384", kid=EPIC_KID, extra_header=extra)
        except (TypeError, ValueError):
            token = f"{b64json(header)}.{b64json(payload)}.{b64url(noise.encode())}"
    else:
        token = f"{b64json(header)}.{b64json(payload)}.{b64url(noise.encode())}"
    for authorization in (f"Bearer {token}", f"Bearer {noise}", noise):
        try:
            headers = {"Authorization": authorization}
            if endpoint == "/cds-services":
                resp = client.get(endpoint, headers=headers)
            else:
                resp = client.post(endpoint, json={}, headers=headers)
        except ValueError:  # a header value werkzeug itself refuses to send (newline...)
            continue
        check(resp, "token")
        assert resp.status_code in {200, 400, 401, 403}
