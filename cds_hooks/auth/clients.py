"""The trusted-clients file (``CDS_TRUSTED_CLIENTS_FILE``): one entry per issuer and where its
public keys come from (a ``jku``, a ``jwks_file`` or an inline ``jwks``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from cds_hooks.auth.jwks import VerificationKey, parse_jwks
from cds_hooks.settings import SettingsError, is_loopback_host


class TrustedClientsError(SettingsError):
    """The trusted-clients file is missing, unreadable or invalid; start-up stops."""


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


def static_keys(client: TrustedClient, base_dir: Path | None) -> dict[str, VerificationKey]:
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
