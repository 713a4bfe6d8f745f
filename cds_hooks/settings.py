"""Service settings, read from the environment (prefix ``CDS_``) through pydantic-settings.

Every setting is documented in the README's settings table. Invalid settings raise
:class:`SettingsError` with one clear line per problem; the CLI prints it and exits.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class AuthMode(StrEnum):
    JWT = "jwt"
    OFF = "off"


class SettingsError(Exception):
    """Settings are invalid; the message lists every problem, one per line."""


def is_loopback_host(host: str) -> bool:
    """True when ``host`` names only the local machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """All runtime configuration. Construct directly in tests: ``Settings(auth_mode="off")``."""

    model_config = SettingsConfigDict(env_prefix="CDS_", extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port to bind.")
    base_url: str = Field(
        "",
        description="External base URL of the service (scheme://host[:port][/prefix]); used "
        "to compute the JWT audience. Default: http://{host}:{port}.",
    )
    database_url: str = Field(
        "sqlite:///data/sarcoma-cds.sqlite3",
        description="SQLAlchemy URL of the feedback store and JWT replay cache.",
    )
    auth_mode: AuthMode = Field(AuthMode.JWT, description="jwt (default) or off (loopback only).")
    trusted_clients_file: Path | None = Field(
        None, description="YAML or JSON list of trusted CDS clients (iss, jku/jwks)."
    )
    fhir_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated FHIR base-URL prefixes the service may call back.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Comma-separated browser origins allowed by CORS; * allows any origin.",
    )
    fhir_timeout_s: float = Field(
        3.0, gt=0, le=30, description="Hard timeout of one FHIR callback request, seconds."
    )
    fhir_max_pages: int = Field(10, ge=1, le=100, description="Bundle next-links followed.")
    fhir_max_response_bytes: int = Field(
        10_000_000, ge=1024, description="Largest FHIR callback response body accepted."
    )
    allow_insecure_loopback_fhir: bool = Field(
        True,
        description="Allow http:// FHIR servers on loopback addresses (development, Sandbox).",
    )
    max_body_bytes: int = Field(
        5_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_json_depth: int = Field(64, ge=8, le=512, description="Deepest JSON nesting accepted.")
    max_string_length: int = Field(
        1_000_000, ge=1024, description="Longest JSON string value accepted."
    )
    max_json_items: int = Field(
        10_000, ge=100, description="Most items in one JSON array or object accepted."
    )
    max_json_values: int = Field(
        300_000, ge=1000, description="Most JSON values (every value, containers too) accepted."
    )
    jwt_leeway_s: int = Field(60, ge=0, le=600, description="Clock-skew leeway for JWT times.")
    jwt_max_lifetime_s: int = Field(
        3600, ge=60, le=86400, description="Longest JWT lifetime (exp - iat) accepted."
    )
    jurisdiction: str = Field(
        "US", description="Regulatory jurisdiction used to present approval status (e.g. US, CN)."
    )
    unreviewed_rules: Literal["show", "hide", "kb"] = Field(
        "kb",
        description="Rules without clinical sign-off: show (labelled 'not yet clinically "
        "reviewed'), hide, or kb (the knowledge base's own setting).",
    )
    log_level: str = Field("INFO", description="Python log level.")
    workers: int = Field(0, ge=0, le=64, description="gunicorn workers; 0 = CPU count.")
    threads: int = Field(
        8, ge=1, le=64, description="Threads per gunicorn worker (requests waiting on FHIR)."
    )
    request_read_timeout_s: float = Field(
        10.0, ge=1, le=120, description="Time a client has to send a whole request."
    )
    request_cpu_budget_s: float = Field(
        1.0,
        ge=0.01,
        le=60,
        description="CPU seconds one hook call may use before it is stopped (503).",
    )
    smart_client_id: str = Field(
        "sarcoma-cds-timeline",
        min_length=1,
        description="OAuth client id of the therapy-timeline SMART app at the EHR's server.",
    )
    launch_key: str = Field(
        "",
        description="Secret (32+ characters) signing the SMART launch cookie; set it when "
        "several replicas serve the app. Default: random per process start.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies whose X-Forwarded-* headers gunicorn trusts (comma list or *).",
    )

    _split_allowlist = field_validator("fhir_allowlist", "cors_origins", mode="before")(_split_csv)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://cds.example.org")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.rstrip("/")

    @field_validator("fhir_allowlist")
    @classmethod
    def _check_allowlist(cls, value: list[str]) -> list[str]:
        for prefix in value:
            parts = urlsplit(prefix)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise ValueError(f"entry {prefix!r} is not an absolute http(s) URL prefix")
        return value

    @field_validator("launch_key")
    @classmethod
    def _check_launch_key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        if self.auth_mode is AuthMode.OFF and not is_loopback_host(self.host):
            raise ValueError(
                "CDS_AUTH_MODE=off is only allowed when CDS_HOST is a loopback address "
                f"(got {self.host!r}); configure CDS_TRUSTED_CLIENTS_FILE and use jwt"
            )
        if self.auth_mode is AuthMode.JWT and self.trusted_clients_file is None:
            raise ValueError(
                "CDS_AUTH_MODE=jwt needs CDS_TRUSTED_CLIENTS_FILE (see deploy/trusted-clients"
                ".example.yaml); for local development bind to 127.0.0.1 with CDS_AUTH_MODE=off"
            )
        if self.trusted_clients_file is not None and not self.trusted_clients_file.is_file():
            raise ValueError(f"CDS_TRUSTED_CLIENTS_FILE {self.trusted_clients_file} does not exist")
        return self

    @property
    def external_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """CDS_* variables that name no setting (a typo would otherwise be silently ignored)."""
    known = {f"CDS_{name.upper()}" for name in Settings.model_fields}
    lines = []
    for key in sorted(environ):
        if key.startswith("CDS_") and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{key}: not a setting of this service{hint}")
    return lines


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, raising :class:`SettingsError` with readable lines."""
    lines = unknown_variables(os.environ)
    if lines:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"CDS_{field.upper()}" if err["loc"] else "settings"
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


class DatabaseSettings(BaseSettings):
    """Only what the offline commands (``feedback-report``) need: the database URL. The
    service's other settings (authentication, allowlist...) are neither read nor checked."""

    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore", frozen=True)

    database_url: str = Settings.model_fields["database_url"].default


def load_database_url() -> str:
    """``CDS_DATABASE_URL`` (or the service's default), without the service's other checks."""
    url = DatabaseSettings().database_url
    if not url.strip():
        raise SettingsError("invalid settings:\n  CDS_DATABASE_URL: must not be empty")
    return url
