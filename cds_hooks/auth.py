"""Client authentication: the CDS Hooks 2.0 JWT bearer trust model (spec section H, items 46-58).

Trusted clients come from ``CDS_TRUSTED_CLIENTS_FILE`` (YAML or JSON, see
``deploy/trusted-clients.example.yaml``). Each entry names one issuer (``iss``) and where its
public keys come from: a ``jku`` (the one JWK Set URL fetched for it), a ``jwks_file`` or an
inline ``jwks``. A ``jku`` given together with static keys is only matched, never fetched.

Every call to ``/cds-services*`` is verified before its body is read:

* ``Authorization: Bearer <JWT>``; the JWS header must carry ``alg`` from :data:`ALLOWED_ALGORITHMS`
  (asymmetric only: never ``none``, never HMAC, whatever the header says), ``kid`` and
  ``typ: JWT``, and no ``crit``;
* ``iss`` must be a trusted issuer; a header ``jku`` must equal that issuer's ``jku``, and no
  other URL is ever fetched;
* the key is chosen by ``kid`` among that issuer's keys only, and must suit ``alg``;
* ``aud`` (string or array of strings) must name the external URL of the endpoint called;
* ``exp``, ``iat`` and ``jti`` are required, ``nbf`` is honoured, all within a small leeway;
  ``exp - iat`` may not exceed ``CDS_JWT_MAX_LIFETIME_S``;
* ``jti`` is recorded in the database (table ``jwt_replay``) until the token expires, so a token
  is accepted once across all workers and replicas that share the database;
* ``tenant`` must be one of the entry's ``tenants`` when the entry lists any (else 403).

Failures raise :class:`cds_hooks.errors.Unauthorized` with a stable reason code that is logged
but never answered. No token, key or claim value other than the issuer reaches a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import Engine, delete
from sqlalchemy.exc import SQLAlchemyError

from cds_hooks.errors import Forbidden, ServiceUnavailable, Unauthorized
from cds_hooks.fhir_client import FhirUnavailable, bounded_get
from cds_hooks.identity import ClientIdentity
from cds_hooks.settings import Settings, SettingsError, is_loopback_host
from cds_hooks.store import _insert, jwt_replay

log = logging.getLogger(__name__)

#: Spec item 53: ES384 and RS384 recommended; ES256, RS256 and PS384 also trusted. Never none/HS*.
ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"ES256", "ES384", "RS256", "RS384", "PS384"})
EC_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384"}
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "PS384"})
MIN_RSA_BITS = 2048

MAX_TOKEN_CHARS = 16_384
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")
MAX_JTI_CHARS = 512

JWKS_TIMEOUT_S = 3.0
JWKS_MAX_BYTES = 256 * 1024
JWKS_CACHE_TTL_S = 3600.0
JWKS_MIN_REFETCH_S = 30.0
REPLAY_PURGE_EVERY_S = 300.0


class TrustedClientsError(SettingsError):
    """The trusted-clients file is missing, unreadable or invalid; start-up stops."""


# -- the trusted-clients file ------------------------------------------------------------------


def _check_jku(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an absolute https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must be https (http is only allowed on loopback, for development)")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must not carry credentials or a fragment")
    return value


class TrustedClient(BaseModel):
    """One entry of the trusted-clients file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1, max_length=2048)
    jku: str | None = Field(None, description="The one JWK Set URL allowed (and fetched).")
    jwks_file: Path | None = Field(None, description="JWK Set file, relative to this file.")
    jwks: dict[str, Any] | None = Field(None, description="Inline JWK Set ({keys: [...]}).")
    tenants: list[str] | None = Field(None, description="Entitled tenants; none = any.")
    fhir_servers: list[str] = Field(default_factory=list, description="fhirServer prefixes.")
    description: str | None = None

    @field_validator("jku")
    @classmethod
    def _valid_jku(cls, value: str | None) -> str | None:
        return None if value is None else _check_jku(value)

    @field_validator("tenants")
    @classmethod
    def _valid_tenants(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not t for t in value)):
            raise ValueError("list at least one non-empty tenant, or omit tenants")
        return value

    @field_validator("fhir_servers")
    @classmethod
    def _valid_fhir_servers(cls, value: list[str]) -> list[str]:
        for prefix in value:
            parts = urlsplit(prefix)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError(f"{prefix!r} is not an absolute http(s) URL prefix")
            if parts.username or parts.password or parts.query or parts.fragment:
                raise ValueError(f"{prefix!r} must not carry credentials, query or fragment")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedClient:
        if self.jwks is not None and self.jwks_file is not None:
            raise ValueError("give either jwks or jwks_file, not both")
        if self.jku is None and self.jwks is None and self.jwks_file is None:
            raise ValueError("give one of jku, jwks_file or jwks")
        return self


class TrustedClientsDocument(RootModel[list[TrustedClient]]):
    pass


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


def load_trusted_clients(path: Path) -> list[TrustedClient]:
    """Read and validate the trusted-clients file; raise :class:`TrustedClientsError`."""
    prefix = f"CDS_TRUSTED_CLIENTS_FILE {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrustedClientsError(f"{prefix}: cannot be read ({exc.strerror})") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise TrustedClientsError(f"{prefix}: not valid YAML/JSON ({exc})") from None
    if isinstance(raw, Mapping) and set(raw) == {"clients"}:
        raw = raw["clients"]
    if not isinstance(raw, list) or not raw:
        raise TrustedClientsError(f"{prefix}: must be a non-empty list of clients (iss, jku...)")
    try:
        clients = TrustedClientsDocument.model_validate(raw).root
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"entry {loc}: {err['msg'].removeprefix('Value error, ')}")
        raise TrustedClientsError(f"{prefix}:\n  " + "\n  ".join(lines)) from None
    seen: set[str] = set()
    for client in clients:
        if client.iss in seen:
            raise TrustedClientsError(f"{prefix}: issuer {client.iss!r} is listed twice")
        seen.add(client.iss)
    return clients


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


# -- the replay cache --------------------------------------------------------------------------


class ReplayCache:
    """``jti`` values seen, in the shared database: insert-or-conflict decides atomically, so a
    token is accepted once across workers and replicas. Rows expire with their token."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._last_purge = 0.0

    @staticmethod
    def key(iss: str, jti: str) -> str:
        return hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()

    def first_use(self, iss: str, jti: str, expires_at: float) -> bool:
        """Record the ``(iss, jti)`` pair; False when it was already recorded and unexpired."""
        now = self.clock()
        stmt = _insert(self.engine, jwt_replay).values(
            key=self.key(iss, jti), expires_at=math.ceil(expires_at)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"expires_at": stmt.excluded.expires_at},
            where=jwt_replay.c.expires_at < int(now),
        ).returning(jwt_replay.c.key)  # a row comes back only when inserted or revived
        with self.engine.begin() as conn:
            fresh = conn.execute(stmt).first() is not None
            if now - self._last_purge > REPLAY_PURGE_EVERY_S:
                self._last_purge = now
                conn.execute(delete(jwt_replay).where(jwt_replay.c.expires_at < int(now)))
        return fresh


# -- the authenticator -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Issuer:
    client: TrustedClient
    keys: KeySource


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class JwtAuthenticator:
    """Verifies CDS client JWTs (see the module docstring for the exact rules)."""

    def __init__(
        self,
        clients: list[TrustedClient],
        *,
        session: requests.Session,
        replay: ReplayCache,
        leeway_s: int = 60,
        max_lifetime_s: int = 3600,
        clock: Callable[[], float] = time.time,
        base_dir: Path | None = None,
        jwks_min_refetch_s: float = JWKS_MIN_REFETCH_S,
    ) -> None:
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s
        self.clock = clock
        self.replay = replay
        self.issuers: dict[str, _Issuer] = {}
        for client in clients:
            source: KeySource
            if client.jwks is not None or client.jwks_file is not None:
                source = StaticKeys(_static_keys(client, base_dir))
            else:
                assert client.jku is not None
                source = RemoteJwks(client.jku, session, min_refetch_s=jwks_min_refetch_s)
            self.issuers[client.iss] = _Issuer(client, source)

    def authenticate(self, authorization: str | None, audience: str) -> ClientIdentity:
        token = _bearer_token(authorization)
        header = _checked_header(token)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("malformed-token") from None
        iss = unverified.get("iss")
        if not isinstance(iss, str):
            raise Unauthorized("claim-missing-iss")
        issuer = self.issuers.get(iss)
        if issuer is None:
            raise Unauthorized("iss-untrusted")
        client = issuer.client
        if "jku" in header and header["jku"] != client.jku:
            raise Unauthorized("jku-not-allowed")
        key = issuer.keys.get(header["kid"])
        if key is None:
            raise Unauthorized("kid-unknown")
        alg = header["alg"]
        if alg not in key.algorithms:
            raise Unauthorized("alg-key-mismatch")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                options={
                    "verify_signature": True,
                    "verify_exp": False,  # times, audience and issuer are checked below,
                    "verify_nbf": False,  # with our clock and stricter typing
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_jti": False,  # jti is checked below (type, length, replay)
                    "verify_sub": False,  # extra claims such as Epic's sub are tolerated
                },
            )
        except jwt.InvalidSignatureError:
            raise Unauthorized("signature-invalid") from None
        except jwt.PyJWTError:
            raise Unauthorized("malformed-token") from None
        if claims.get("iss") != iss:  # cannot differ, the payload is the same bytes
            raise Unauthorized("iss-mismatch")
        self._check_audience(claims, audience)
        expires_at = self._check_times(claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("claim-missing-jti")
        if len(jti) > MAX_JTI_CHARS:
            raise Unauthorized("jti-too-long")
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise Unauthorized("tenant-invalid")
        try:
            fresh = self.replay.first_use(iss, jti, expires_at + self.leeway_s)
        except SQLAlchemyError:
            log.error("auth_replay_store_failed code=replay-store-unavailable")
            raise ServiceUnavailable("The service cannot verify tokens right now.") from None
        if not fresh:
            raise Unauthorized("jti-replayed")
        if client.tenants is not None and tenant not in client.tenants:
            log.warning("auth_forbidden code=tenant-not-entitled iss=%s", iss)
            raise Forbidden()
        return ClientIdentity(
            iss=iss,
            tenant=tenant,
            fhir_servers=tuple(client.fhir_servers),
            authenticated=True,
        )

    @staticmethod
    def _check_audience(claims: Mapping[str, Any], audience: str) -> None:
        if "aud" not in claims:
            raise Unauthorized("claim-missing-aud")
        aud = claims["aud"]
        if isinstance(aud, str):
            ok = aud == audience
        elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
            ok = audience in aud
        else:
            raise Unauthorized("aud-invalid")
        if not ok:
            raise Unauthorized("aud-mismatch")

    def _check_times(self, claims: Mapping[str, Any]) -> float:
        now = self.clock()
        leeway = self.leeway_s
        for name in ("exp", "iat"):
            if name not in claims:
                raise Unauthorized(f"claim-missing-{name}")
        exp, iat = _number(claims["exp"]), _number(claims["iat"])
        if exp is None or iat is None:
            raise Unauthorized("time-claim-invalid")
        if exp <= now - leeway:
            raise Unauthorized("token-expired")
        if iat > now + leeway:
            raise Unauthorized("iat-in-future")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise Unauthorized("time-claim-invalid")
            if nbf > now + leeway:
                raise Unauthorized("token-not-yet-valid")
        if exp <= iat or exp - iat > self.max_lifetime_s:
            raise Unauthorized("lifetime-invalid")
        return exp


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("token-missing")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("not-bearer")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("token-too-long")
    if not TOKEN_RE.match(token):
        raise Unauthorized("malformed-token")
    return token


def _checked_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("malformed-token") from None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise Unauthorized("alg-not-allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("kid-missing")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise Unauthorized("typ-not-jwt")
    if "crit" in header:
        raise Unauthorized("crit-unsupported")
    if "jku" in header and not isinstance(header["jku"], str):
        raise Unauthorized("jku-not-allowed")
    return header


def _static_keys(client: TrustedClient, base_dir: Path | None) -> dict[str, VerificationKey]:
    where = f"client {client.iss!r}"
    data: Any = client.jwks
    if client.jwks_file is not None:
        path = client.jwks_file
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrustedClientsError(f"{where}: jwks_file {path} is unreadable ({exc})") from None
    try:
        keys = parse_jwks(data, where=where)
    except ValueError as exc:
        raise TrustedClientsError(str(exc)) from None
    if not keys:
        raise TrustedClientsError(f"{where}: the JWK Set has no usable ES/RS/PS signature key")
    return keys


def build_authenticator(
    settings: Settings, engine: Engine, session: requests.Session
) -> JwtAuthenticator:
    """The authenticator for ``CDS_AUTH_MODE=jwt``; an invalid trusted-clients file stops here."""
    if settings.trusted_clients_file is None:
        raise TrustedClientsError("CDS_AUTH_MODE=jwt needs CDS_TRUSTED_CLIENTS_FILE")
    path = settings.trusted_clients_file
    clients = load_trusted_clients(path)
    authenticator = JwtAuthenticator(
        clients,
        session=session,
        replay=ReplayCache(engine),
        leeway_s=settings.jwt_leeway_s,
        max_lifetime_s=settings.jwt_max_lifetime_s,
        base_dir=path.parent,
    )
    log.info("auth_configured issuers=%d", len(clients))
    return authenticator
