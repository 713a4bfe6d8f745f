"""Who is calling: the result of client authentication, used for entitlement and SSRF checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """An authenticated CDS client (or the anonymous local client when auth is off)."""

    iss: str | None
    tenant: str | None = None
    fhir_servers: tuple[str, ...] = ()
    authenticated: bool = False


ANONYMOUS_LOCAL = ClientIdentity(iss=None, authenticated=False)
