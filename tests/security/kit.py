"""Test kit for the security suite: keys minted at test time, JWT forging, counting servers.

Nothing here is copied from a real client: the Sandbox- and Epic-shaped tokens are built from
the claim/header shapes documented in the shared reference (spec item 58, test-peers §1d).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

BASE_URL = "https://cds.example.org"
DISCOVERY_AUD = f"{BASE_URL}/cds-services"

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
EPIC_ISS = "https://fhir.epic.example.org/interconnect-fhir-oauth/oauth2"
EPIC_KID = "epic-rs384-1"
TENANT_ISS = "https://ehr.hospital-a.example.org"
TENANT_KID = "hospital-a-es256"
PS_ISS = "https://ehr.ps384.example.org"
PS_KID = "ps384-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@dataclass
class Keys:
    """Private keys minted for one test session."""

    ec384: ec.EllipticCurvePrivateKey
    ec256: ec.EllipticCurvePrivateKey
    rsa: rsa.RSAPrivateKey
    rsa_ps: rsa.RSAPrivateKey
    attacker_ec384: ec.EllipticCurvePrivateKey
    attacker_rsa: rsa.RSAPrivateKey

    @classmethod
    def mint(cls) -> Keys:
        return cls(
            ec384=ec.generate_private_key(ec.SECP384R1()),
            ec256=ec.generate_private_key(ec.SECP256R1()),
            rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa_ps=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            attacker_ec384=ec.generate_private_key(ec.SECP384R1()),
            attacker_rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )


def public_jwk(private_key: Any, kid: str, alg: str | None = None) -> dict[str, Any]:
    public = private_key.public_key()
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(public))
    jwk.update({"kid": kid, "use": "sig"})
    if alg:
        jwk["alg"] = alg
    return jwk


def public_pem(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def claims(iss: str, aud: str | list[str], *, lifetime: int = 300, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "exp": now + lifetime,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    payload.update(extra)
    return {k: v for k, v in payload.items() if v is not DROP}


DROP: Any = object()  # claims(..., exp=DROP) leaves the claim out


def sign(
    private_key: Any,
    payload: dict[str, Any],
    *,
    alg: str,
    kid: str | None,
    typ: str | None = "JWT",
    jku: str | None = None,
    extra_header: dict[str, Any] | None = None,
) -> str:
    headers: dict[str, Any] = {"typ": typ}
    if kid is not None:
        headers["kid"] = kid
    if jku is not None:
        headers["jku"] = jku
    headers.update(extra_header or {})
    return jwt.encode(payload, private_key, algorithm=alg, headers=headers)


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand (for headers and algorithms PyJWT refuses to produce)."""
    return f"{b64json(header)}.{b64json(payload)}.{b64url(signature)}"


def forge_hmac(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[
        header["alg"]
    ]
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(mac)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- a loopback HTTP server that counts every hit ----------------------------------------------


Route = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


@dataclass
class CountingServer:
    """A ThreadingHTTPServer on 127.0.0.1 whose routes are set by the test; every request is
    recorded (method, path, headers) so a test can assert that nothing reached it."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.hits]

    def json_route(self, path: str, value: Any, status: int = 200) -> None:
        body = json.dumps(value).encode()
        self.routes[path] = lambda _h: (status, {"Content-Type": "application/json"}, body)

    def redirect_route(self, path: str, location: str) -> None:
        self.routes[path] = lambda _h: (302, {"Location": location}, b"")


@contextlib.contextmanager
def counting_server() -> Iterator[CountingServer]:
    state = CountingServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append((self.command, self.path, dict(self.headers.items())))
            path = self.path.split("?", 1)[0]
            route = state.routes.get(self.path) or state.routes.get(path)
            if route is None:
                status, headers, body = 404, {"Content-Type": "application/json"}, b"{}"
            else:
                status, headers, body = route(self)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class RecordingSession(requests.Session):
    """A requests session that records every URL the service tries to reach."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.urls.append(url if isinstance(url, str) else url.decode())
        return super().request(method, url, *args, **kwargs)
