"""Client JWTs for the self-check (items 48/49): the signer of the ``--token-key`` and the
deliberately bad tokens a deployment must refuse."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_hooks.selfcheck.results import SelfCheckError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: the default ``kid`` for a PEM key."""
    members = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: public_jwk[k] for k in members}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass
class TokenSigner:
    """Signs CDS Hooks client JWTs (item 48/49): ``alg`` ES384 or RS384, ``typ`` JWT, ``kid``."""

    private_key: Any
    algorithm: str
    kid: str
    iss: str
    jku: str | None = None
    tenant: str | None = None
    lifetime_s: int = 300

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        iss: str,
        kid: str | None = None,
        jku: str | None = None,
        tenant: str | None = None,
    ) -> TokenSigner:
        """Read a PEM private key, or a private JWK (or a JWK Set holding one) as JSON."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SelfCheckError(f"cannot read key file {path}: {exc.strerror}") from None
        key: Any
        file_kid: str | None = None
        if raw.lstrip().startswith(b"{"):
            try:
                document = json.loads(raw)
                jwk = document["keys"][0] if "keys" in document else document
                key = jwt.PyJWK(jwk).key
            except (ValueError, KeyError, IndexError, jwt.PyJWKError) as exc:
                raise SelfCheckError(f"{path}: not a private JWK: {type(exc).__name__}") from None
            file_kid = jwk.get("kid")
        else:
            try:
                key = serialization.load_pem_private_key(raw, password=None)
            except (ValueError, TypeError) as exc:
                raise SelfCheckError(f"{path}: not an unencrypted PEM private key: {exc}") from None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if key.curve.name != "secp384r1":
                raise SelfCheckError(f"{path}: ES384 needs a P-384 key, got {key.curve.name}")
            algorithm = "ES384"
            public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        elif isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < 2048:
                raise SelfCheckError(f"{path}: RS384 needs an RSA key of at least 2048 bits")
            algorithm = "RS384"
            public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        else:
            raise SelfCheckError(f"{path}: only EC P-384 (ES384) and RSA (RS384) keys are used")
        return cls(
            private_key=key,
            algorithm=algorithm,
            kid=kid or file_kid or _thumbprint(public_jwk),
            iss=iss,
            jku=jku,
            tenant=tenant,
        )

    def sign(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.iss,
            "aud": audience,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": str(uuid.uuid4()),
        }
        if self.tenant:
            claims["tenant"] = self.tenant
        claims.update(overrides)
        headers: dict[str, Any] = {"kid": self.kid, "typ": "JWT"}
        if self.jku:
            headers["jku"] = self.jku
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)


def unsigned_token(audience: str, iss: str, kid: str) -> str:
    """An ``alg: none`` token with otherwise valid claims: it must be refused (item 53)."""
    now = int(time.time())
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    claims = {"iss": iss, "aud": audience, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return ".".join(
        [
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(claims).encode()),
            "",
        ]
    )
