"""The JWT bearer check of every ``/cds-services*`` call (the rules are listed in the package
docstring) and the authenticator built from the settings."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cds_hooks.auth.clients import (
    TrustedClient,
    TrustedClientsError,
    load_trusted_clients,
    static_keys,
)
from cds_hooks.auth.jwks import (
    ALLOWED_ALGORITHMS,
    JWKS_MIN_REFETCH_S,
    KeySource,
    RemoteJwks,
    StaticKeys,
)
from cds_hooks.auth.replay import ReplayCache
from cds_hooks.errors import Forbidden, ServiceUnavailable, Unauthorized
from cds_hooks.identity import ClientIdentity
from cds_hooks.settings import Settings

log = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 16_384
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")
MAX_JTI_CHARS = 512


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
                source = StaticKeys(static_keys(client, base_dir))
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
