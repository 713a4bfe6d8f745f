"""Verification keys: parsing JWK Sets and the two key sources of an issuer (static keys from
the trusted-clients file, or the one ``jku`` fetched with a cache and a refetch limit)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_hooks.fhir_client import FhirUnavailable, bounded_get

log = logging.getLogger(__name__)

#: Spec item 53: ES384 and RS384 recommended; ES256, RS256 and PS384 also trusted. Never none/HS*.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"ES256", "ES384", "RS256", "RS384", "PS384"})
EC_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384"}
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "PS384"})
MIN_RSA_BITS = 2048

JWKS_TIMEOUT_S = 3.0
JWKS_MAX_BYTES = 256 * 1024
JWKS_CACHE_TTL_S = 3600.0
JWKS_MIN_REFETCH_S = 30.0


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    key: Any  # a cryptography public key
    algorithms: frozenset[str]


def parse_jwks(data: Any, *, where: str) -> dict[str, VerificationKey]:
    """Parse a JWK Set into signature keys by ``kid``. Keys that are not usable for one of the
    allowed algorithms are skipped; a private key, a missing or duplicated ``kid`` is an error."""
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{where}: a JWK Set is an object with a 'keys' list")
    keys: dict[str, VerificationKey] = {}
    for index, jwk in enumerate(data["keys"]):
        if not isinstance(jwk, Mapping):
            raise ValueError(f"{where}: keys[{index}] is not an object")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError(f"{where}: keys[{index}] has no kid")
        if kid in keys:
            raise ValueError(f"{where}: kid {kid!r} is not unique in the JWK Set")
        if "d" in jwk or "k" in jwk:
            raise ValueError(f"{where}: keys[{index}] ({kid}) holds secret key material")
        key = _usable_key(jwk)
        if key is not None:
            keys[kid] = VerificationKey(kid, key[0], key[1])
    return keys


def _usable_key(jwk: Mapping[str, Any]) -> tuple[Any, frozenset[str]] | None:
    if jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if isinstance(ops, list) and "verify" not in ops:
        return None
    kty = jwk.get("kty")
    key: Any
    try:
        if kty == "EC":
            key = ECAlgorithm.from_jwk(dict(jwk))
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return None
            alg = EC_CURVE_ALGORITHMS.get(key.curve.name)
            algorithms = frozenset({alg}) if alg else frozenset()
        elif kty == "RSA":
            key = RSAAlgorithm.from_jwk(dict(jwk))
            if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
                return None
            algorithms = RSA_ALGORITHMS
        else:
            return None
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    declared = jwk.get("alg")
    if declared is not None:
        algorithms = algorithms & {declared}
    return (key, algorithms) if algorithms else None


# -- key sources -------------------------------------------------------------------------------


class KeySource:
    """The keys of one issuer, looked up by ``kid``."""

    def get(self, kid: str) -> VerificationKey | None:
        raise NotImplementedError


@dataclass(slots=True)
class StaticKeys(KeySource):
    keys: dict[str, VerificationKey]

    def get(self, kid: str) -> VerificationKey | None:
        return self.keys.get(kid)


class JwksUnavailable(Exception):
    pass


@dataclass(slots=True)
class RemoteJwks(KeySource):
    """A JWK Set fetched from the issuer's configured ``jku``: cached for ``ttl_s``, refetched
    once when an unknown ``kid`` arrives, but never more often than every ``min_refetch_s``
    (successful or not). No redirects, a timeout and a size cap on every fetch."""

    url: str
    session: requests.Session
    timeout_s: float = JWKS_TIMEOUT_S
    max_bytes: int = JWKS_MAX_BYTES
    ttl_s: float = JWKS_CACHE_TTL_S
    min_refetch_s: float = JWKS_MIN_REFETCH_S
    monotonic: Callable[[], float] = time.monotonic
    keys: dict[str, VerificationKey] = field(default_factory=dict)
    fetched_at: float | None = None
    attempted_at: float | None = None
    fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, kid: str) -> VerificationKey | None:
        with self.lock:
            now = self.monotonic()
            stale = self.fetched_at is None or now - self.fetched_at > self.ttl_s
            if (stale or kid not in self.keys) and self._may_fetch(now):
                self._refresh(now)
            return self.keys.get(kid)

    def _may_fetch(self, now: float) -> bool:
        return self.attempted_at is None or now - self.attempted_at >= self.min_refetch_s

    def _refresh(self, now: float) -> None:
        self.attempted_at = now
        self.fetches += 1
        try:
            self.keys = parse_jwks(self._fetch(), where="jwks")
            self.fetched_at = now
        except (JwksUnavailable, ValueError) as exc:
            # Keep the keys we had (rotation-safe); the failure is rate-limited like a success.
            code = str(exc) if isinstance(exc, JwksUnavailable) else "jwks-invalid"
            log.warning("jwks_fetch_failed code=%s", code)

    def _fetch(self) -> Any:
        try:
            body = bounded_get(
                self.session,
                self.url,
                headers={"Accept": "application/json, application/jwk-set+json"},
                deadline=time.monotonic() + self.timeout_s,
                connect_timeout_s=self.timeout_s,
                max_bytes=self.max_bytes,
            )
        except FhirUnavailable as exc:
            raise JwksUnavailable(f"jwks-{exc.reason.removeprefix('response-')}") from None
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise JwksUnavailable("jwks-not-json") from None
