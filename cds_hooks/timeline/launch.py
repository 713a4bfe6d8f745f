"""SMART App Launch for the timeline app, without Flask: PKCE, discovery of the authorization
server, the open-server probe and the code-for-token exchange (public client, S256)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_hooks.fhir_client import FhirUnavailable, bounded_get
from cds_hooks.settings import Settings, is_loopback_host

APP_PATH = "/app/timeline"
LAUNCH_PATH = f"{APP_PATH}/launch"
CALLBACK_PATH = f"{APP_PATH}/callback"
DEFAULT_CLIENT_ID = "sarcoma-cds-timeline"
#: The only resource types the page reads (SMART v1 scope syntax, understood by v2 servers).
READ_SCOPES = (
    "patient/Patient.read",
    "patient/Condition.read",
    "patient/Observation.read",
    "patient/MedicationRequest.read",
    "patient/Procedure.read",
)
FHIR_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# -- PKCE and discovery -----------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str


class LaunchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def url_ok(url: Any, settings: Settings) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return (
        parts.scheme == "http"
        and is_loopback_host(parts.hostname)
        and settings.allow_insecure_loopback_fhir
    )


def discover(session: requests.Session, iss: str, settings: Settings) -> SmartConfiguration | None:
    """Read ``{iss}/.well-known/smart-configuration``; ``None`` for an open server (no file)."""
    try:
        body = bounded_get(
            session,
            f"{iss.rstrip('/')}/.well-known/smart-configuration",
            headers={"Accept": "application/json"},
            deadline=time.monotonic() + settings.fhir_timeout_s,
            connect_timeout_s=settings.fhir_timeout_s,
            max_bytes=settings.fhir_max_response_bytes,
        )
    except FhirUnavailable as exc:
        if exc.reason in ("http-404", "http-410"):
            return None
        if exc.reason.startswith("http-") or exc.reason == "redirect-refused":
            status = exc.reason.removeprefix("http-")
            raise LaunchError(502, f"SMART discovery answered HTTP {status}.") from None
        raise LaunchError(502, "The FHIR server did not answer.") from None
    try:
        config = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise LaunchError(502, "SMART discovery did not return JSON.") from None
    if not isinstance(config, dict):
        raise LaunchError(502, "SMART discovery did not return a JSON object.")
    if not config.get("authorization_endpoint") and not config.get("token_endpoint"):
        return None
    methods = config.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise LaunchError(502, "The authorization server does not support PKCE S256.")
    authorize, token = config.get("authorization_endpoint"), config.get("token_endpoint")
    if not url_ok(authorize, settings) or not url_ok(token, settings):
        raise LaunchError(502, "SMART discovery gave unusable authorization or token endpoints.")
    return SmartConfiguration(authorization_endpoint=str(authorize), token_endpoint=str(token))


# -- reading the patient --------------------------------------------------------------------


def is_open(session: requests.Session, iss: str, patient_id: str, settings: Settings) -> bool:
    """True when the server gives the patient without a token (an open server: read directly,
    even if it also advertises SMART endpoints)."""
    try:
        bounded_get(
            session,
            f"{iss}/Patient/{patient_id}",
            headers={"Accept": "application/fhir+json"},
            deadline=time.monotonic() + settings.fhir_timeout_s,
            connect_timeout_s=settings.fhir_timeout_s,
            max_bytes=settings.fhir_max_response_bytes,
        )
    except FhirUnavailable:
        return False
    return True


def exchange_code(
    session: requests.Session,
    settings: Settings,
    client_id: str,
    pending: dict[str, Any],
    code: str,
) -> tuple[str, str]:
    """Trade the authorization code for (access token, patient id), checking that the launch
    context, the token and the card all name the same patient."""
    try:
        response = session.post(
            pending["token"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": pending["redirect"],
                "client_id": client_id,
                "code_verifier": pending["verifier"],
            },
            headers={"Accept": "application/json"},
            timeout=settings.fhir_timeout_s,
            allow_redirects=False,
        )
    except requests.RequestException:
        raise LaunchError(502, "The authorization server did not answer.") from None
    if response.status_code != 200:
        raise LaunchError(
            502, f"The authorization server refused the code (HTTP {response.status_code})."
        )
    try:
        token = response.json()
    except ValueError:
        raise LaunchError(502, "The token response was not JSON.") from None
    access_token = token.get("access_token") if isinstance(token, dict) else None
    if not isinstance(access_token, str) or str(token.get("token_type", "")).lower() != "bearer":
        raise LaunchError(502, "The token response had no bearer access token.")
    patient_id = token.get("patient")
    app_context = token.get("appContext")
    if isinstance(app_context, str):
        try:
            context_patient = json.loads(app_context).get("patientId")
        except (ValueError, AttributeError):
            context_patient = None
        if context_patient and patient_id and context_patient != patient_id:
            raise LaunchError(400, "The launch context names a different patient than the token.")
    if not isinstance(patient_id, str) or not FHIR_ID_RE.match(patient_id):
        raise LaunchError(400, "The authorization server gave no patient in the launch context.")
    hint = pending.get("hint")
    if hint and hint != patient_id:
        raise LaunchError(400, "The card's patient differs from the patient of the launch.")
    return access_token, patient_id
