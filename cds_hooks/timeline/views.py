"""Flask routes of the timeline app: ``/app/timeline`` (open FHIR servers), its SMART launch
and callback. Thin: the launch logic is in :mod:`.launch`, the facts in :mod:`.model`, the
page in :mod:`.render`."""

from __future__ import annotations

import hmac
import secrets
from html import escape
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as WerkzeugResponse

from cds_hooks.fhir_client import FhirUnavailable, fhir_server_allowed
from cds_hooks.settings import Settings
from cds_hooks.timeline.launch import (
    APP_PATH,
    CALLBACK_PATH,
    DEFAULT_CLIENT_ID,
    FHIR_ID_RE,
    LAUNCH_PATH,
    READ_SCOPES,
    LaunchError,
    discover,
    exchange_code,
    is_open,
    pkce_pair,
)
from cds_hooks.timeline.model import build_timeline, read_patient_data
from cds_hooks.timeline.render import render_page

timeline_bp = Blueprint("timeline", __name__)

COOKIE = "sarcoma_smart_launch"
COOKIE_MAX_AGE_S = 600


def _settings() -> Settings:
    return current_app.extensions["cds"].settings  # type: ignore[no-any-return]


def _page(status: int, message: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Therapy timeline'
        f"</title></head><body><h1>Therapy timeline</h1><p>{escape(message)}</p></body></html>"
    )
    return Response(body, status=status, mimetype="text/html")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.extensions["smart.key"], salt="smart-launch")


def _client_id() -> str:
    return str(current_app.extensions.get("smart.client_id", DEFAULT_CLIENT_ID))


def _check_iss(iss: str | None) -> str:
    settings = _settings()
    if not iss:
        raise LaunchError(400, "The launch did not name a FHIR server (iss).")
    if not fhir_server_allowed(
        iss, settings.fhir_allowlist, allow_insecure_loopback=settings.allow_insecure_loopback_fhir
    ):
        raise LaunchError(403, "This FHIR server is not on the service's allowlist.")
    return iss.rstrip("/")


def _unavailable(exc: FhirUnavailable, patient_id: str) -> LaunchError:
    """A clear page: an unknown patient is "not found" (404), not a gateway error."""
    if exc.reason in ("http-404", "http-410"):
        return LaunchError(
            404,
            f"Patient not found: this FHIR server has no patient {patient_id}. Check the "
            "patient id, or that the patient's data were loaded on this server.",
        )
    return LaunchError(502, f"The FHIR server could not give the data ({exc.reason}).")


def _render_for(iss: str, patient_id: str, token: str | None) -> Response:
    core = current_app.extensions["cds"]
    prefetch = read_patient_data(core.session, core.settings, iss, patient_id, token)
    timeline = build_timeline(prefetch, patient_id, core.kb, core.clock())
    return Response(render_page(timeline), status=200, mimetype="text/html")


@timeline_bp.get(APP_PATH)
def timeline_page() -> ResponseReturnValue:
    """Open FHIR servers: read directly. A secured server is sent through the launch."""
    try:
        iss = _check_iss(request.args.get("iss"))
        patient_id = request.args.get("patient", "")
        if not FHIR_ID_RE.match(patient_id):
            raise LaunchError(400, "Give the patient id (patient=...) for an open FHIR server.")
        try:
            return _render_for(iss, patient_id, None)
        except FhirUnavailable as exc:
            if exc.reason in ("http-401", "http-403"):
                return redirect(f"{LAUNCH_PATH}?{urlencode({'iss': iss})}", code=302)
            raise _unavailable(exc, patient_id) from None
    except LaunchError as exc:
        return _page(exc.status, exc.message)


@timeline_bp.get(LAUNCH_PATH)
def launch() -> ResponseReturnValue:
    """EHR launch (iss + launch) or standalone launch (iss only)."""
    try:
        iss = _check_iss(request.args.get("iss"))
        launch_token = request.args.get("launch")
        core = current_app.extensions["cds"]
        patient_id = request.args.get("patient", "")
        if FHIR_ID_RE.match(patient_id) and is_open(core.session, iss, patient_id, core.settings):
            query = urlencode({"iss": iss, "patient": patient_id})
            return redirect(f"{APP_PATH}?{query}", code=302)
        config = discover(core.session, iss, core.settings)
        if config is None:
            if FHIR_ID_RE.match(patient_id):
                query = urlencode({"iss": iss, "patient": patient_id})
                return redirect(f"{APP_PATH}?{query}", code=302)
            raise LaunchError(
                400, "This FHIR server is open (no SMART configuration): add patient=<id>."
            )
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        redirect_uri = core.settings.external_base_url + CALLBACK_PATH
        scope = " ".join(("launch" if launch_token else "launch/patient", *READ_SCOPES))
        params = {
            "response_type": "code",
            "client_id": _client_id(),
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "aud": iss,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if launch_token:
            params["launch"] = launch_token
        cookie = _serializer().dumps(
            {
                "state": state,
                "verifier": verifier,
                "iss": iss,
                "token": config.token_endpoint,
                "redirect": redirect_uri,
                "hint": request.args.get("patient", ""),
            }
        )
        separator = "&" if "?" in config.authorization_endpoint else "?"
        response = redirect(
            f"{config.authorization_endpoint}{separator}{urlencode(params)}", code=302
        )
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=COOKIE_MAX_AGE_S,
            path=APP_PATH,
            httponly=True,
            secure=core.settings.external_base_url.startswith("https://"),
            samesite="Lax",
        )
        return response
    except LaunchError as exc:
        return _page(exc.status, exc.message)


@timeline_bp.get(CALLBACK_PATH)
def callback() -> ResponseReturnValue:
    """Redirect target: check state, exchange the code with the PKCE verifier, render."""
    response: Response | WerkzeugResponse
    try:
        if request.args.get("error"):
            raise LaunchError(400, f"Authorization failed: {request.args['error'][:100]}.")
        raw = request.cookies.get(COOKIE)
        if not raw:
            raise LaunchError(400, "No launch in progress (or it expired): launch the app again.")
        try:
            pending = _serializer().loads(raw, max_age=COOKIE_MAX_AGE_S)
        except BadSignature:
            raise LaunchError(
                400, "The launch expired or was altered: launch the app again."
            ) from None
        state = request.args.get("state", "")
        if not hmac.compare_digest(state.encode(), str(pending.get("state", "")).encode()):
            raise LaunchError(400, "The authorization response does not belong to this launch.")
        code = request.args.get("code")
        if not code:
            raise LaunchError(400, "The authorization response carried no code.")
        iss = _check_iss(pending.get("iss"))
        core = current_app.extensions["cds"]
        access_token, patient_id = exchange_code(
            core.session, core.settings, _client_id(), pending, code
        )
        try:
            response = _render_for(iss, patient_id, access_token)
        except FhirUnavailable as exc:
            raise _unavailable(exc, patient_id) from None
    except LaunchError as exc:
        response = _page(exc.status, exc.message)
    response.delete_cookie(COOKIE, path=APP_PATH)
    return response


def register_timeline_app(
    app: Flask, *, client_id: str | None = None, launch_key: str | None = None
) -> None:
    """Mount the timeline app. Without a configured key, the cookie key is made once per app,
    before workers fork (enough for one machine; replicas share CDS_LAUNCH_KEY)."""
    app.extensions["smart.key"] = launch_key.encode() if launch_key else secrets.token_bytes(32)
    app.extensions["smart.client_id"] = client_id or DEFAULT_CLIENT_ID
    app.register_blueprint(timeline_bp)
