"""The Flask application: thin views, CORS, security headers and the single error mapping.

This is the only module that imports Flask. Views parse, make one call into
:class:`cds_hooks.protocol.CdsCore`, and serialise; nothing clinical happens here.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any, Protocol

import orjson
import requests
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from cds_hooks.errors import (
    CdsError,
    InternalError,
    InvalidJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from cds_hooks.identity import ANONYMOUS_LOCAL, ClientIdentity
from cds_hooks.observability import REQUEST_LATENCY, REQUESTS, child, metrics_payload
from cds_hooks.protocol import CdsCore, utc_today
from cds_hooks.registry import Registry
from cds_hooks.settings import AuthMode, Settings, load_settings
from cds_hooks.store import FeedbackStore, make_engine, migrate

log = logging.getLogger("cds_hooks.web")
access_log = logging.getLogger("cds_hooks.access")

bp = Blueprint("cds", __name__)
JSON_TYPES = {"application/json", "application/fhir+json"}
CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"


class Authenticator(Protocol):
    def authenticate(self, authorization: str | None, audience: str) -> ClientIdentity: ...


class NoAuthentication:
    """``CDS_AUTH_MODE=off``: only ever allowed on a loopback bind (checked by Settings)."""

    def authenticate(self, authorization: str | None, audience: str) -> ClientIdentity:
        return ANONYMOUS_LOCAL


def core() -> CdsCore:
    return current_app.extensions["cds"]  # type: ignore[no-any-return]


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")


def request_body() -> bytes:
    """The raw body, after the media-type and size checks; parsed (and bounded) by CdsCore."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    mimetype = (req.mimetype or "").lower()
    if mimetype not in JSON_TYPES:
        raise UnsupportedMediaType()
    limit = core().settings.max_body_bytes
    length = req.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge()
    if length is None:
        # Up to one byte past the limit, so that a longer body is refused.
        return req.stream.read(limit + 1)  # type: ignore[no-any-return]
    # The announced length, straight from the WSGI input (PEP 3333: an application may read up
    # to CONTENT_LENGTH): werkzeug's limited stream would zero a buffer of that size and copy
    # the body twice more. Its one difference, kept: no byte at all means the client left.
    body: bytes = req.environ["wsgi.input"].read(length)
    if length and not body:
        raise ClientDisconnected()
    return body


# -- views -------------------------------------------------------------------------------------


@bp.get("/cds-services")
def discovery() -> Response:
    return json_response(core().discovery().to_wire())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    response, fields = core().call_service(service_id, request_body(), g.identity)
    g.log_fields = fields
    return json_response(response.to_wire())


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    accepted = core().record_feedback(service_id, request_body(), g.identity)
    return json_response({"accepted": accepted})


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = metrics_payload()
    return Response(payload, status=200, content_type=content_type)


@bp.get("/readyz")
def readyz() -> Response:
    checks = core().ready()
    if not all(checks.values()):
        raise ServiceUnavailable("Not ready: " + ", ".join(k for k, ok in checks.items() if not ok))
    return json_response({"status": "ready", "checks": checks})


@bp.get("/openapi.json")
def openapi() -> Response:
    from cds_hooks.openapi import openapi_document

    return json_response(openapi_document(core().settings.external_base_url))


# -- cross-cutting -----------------------------------------------------------------------------

PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def _before() -> Response | None:
    ctx = g._get_current_object()
    ctx.started = time.perf_counter()
    ctx.identity = ANONYMOUS_LOCAL
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "OPTIONS":
        return Response(status=204)  # CORS preflight: no auth, headers added after
    path = req.path
    if path in PUBLIC_PATHS or not path.startswith("/cds-services"):
        return None
    extensions = current_app.extensions
    audience = extensions["cds"].settings.external_base_url + path
    authenticator: Authenticator = extensions["cds.auth"]
    # request.headers.get("Authorization"), without the KeyError werkzeug raises and catches
    # when the header is absent
    ctx.identity = authenticator.authenticate(req.environ.get("HTTP_AUTHORIZATION"), audience)
    return None


#: Set on every response, after the CORS origin, in this order.
FIXED_HEADERS = (
    ("Access-Control-Allow-Methods", CORS_ALLOW_METHODS),
    ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
    ("Access-Control-Max-Age", "600"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
)
CSP_HTML = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'"
# The names _after sets (replacing what a view may have set); Vary is added to, not set.
_SET_NAMES = frozenset(
    ["access-control-allow-origin", "content-security-policy"]
    + [name.lower() for name, _ in FIXED_HEADERS]
)


def _security_headers(response: Response, origin: str | None, origins: Any) -> None:
    """CORS and the security headers; one pass over the response's headers when the view set
    none of them (every view of this blueprint), else each replaces any of its name."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    html = response.mimetype == "text/html"
    added: list[tuple[str, str]] = []
    vary = False
    if "*" in origins:
        added.append(("Access-Control-Allow-Origin", "*"))
    elif origin and origin in origins:
        added.append(("Access-Control-Allow-Origin", origin))
        vary = True
    added.extend(FIXED_HEADERS)
    added.append(("Content-Security-Policy", CSP_HTML if html else CSP_OTHER))
    if present.isdisjoint(_SET_NAMES):
        if vary:
            added.insert(1, ("Vary", "Origin"))
        headers.extend(added)
    else:
        for name, value in added:
            headers[name] = value
            if vary and name == "Access-Control-Allow-Origin":
                headers.add("Vary", "Origin")
    if "server" in present:
        headers.pop("Server", None)


def _after(response: Response) -> Response:
    # One look-up each through the context-local proxies, not one per attribute.
    req = request._get_current_object()  # type: ignore[attr-defined]
    ctx = g._get_current_object()
    cds: CdsCore = current_app.extensions["cds"]
    _security_headers(response, req.environ.get("HTTP_ORIGIN"), cds.settings.cors_origins)
    elapsed = time.perf_counter() - ctx.get("started", time.perf_counter())
    rule = req.url_rule
    endpoint = rule.rule if rule else "unmatched"
    service_id = (req.view_args or {}).get("service_id")
    service = service_id if service_id and cds.registry.get(service_id) else "-"
    status = response.status_code
    method = req.method
    if method != "OPTIONS" and endpoint != "/metrics":
        # endpoints are the app's routes, services the registered ids or "-"
        child(REQUESTS, endpoint, service, str(status)).inc()
        child(REQUEST_LATENCY, endpoint, service).observe(elapsed)
    if access_log.isEnabledFor(logging.INFO):
        fields = {
            "method": method,
            "endpoint": endpoint,
            "service": service,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            **getattr(ctx, "log_fields", {}),
        }
        error_code = getattr(ctx, "error_code", None)
        if error_code:
            fields["error_code"] = error_code
        access_log.info("request", extra=fields)
    return response


def _error_response(error: CdsError) -> Response:
    g.error_code = error.reason if isinstance(error, Unauthorized) else error.code
    if isinstance(error, Unauthorized):
        log.warning("auth_failed code=%s", error.reason)
        response = Response(status=401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    log.info("cds_error code=%s status=%s", error.code, error.status)
    response = json_response(error.to_operation_outcome(), error.status)
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _http_error(error: HTTPException) -> Response:
    mapped: CdsError
    if error.code == 404:
        mapped = NotFound()
    elif error.code == 405:
        mapped = MethodNotAllowed()
    elif error.code == 413:
        mapped = PayloadTooLarge()
    elif error.code == 415:
        mapped = UnsupportedMediaType()
    elif error.code == 400:
        mapped = InvalidJson()
    else:
        mapped = InternalError()
    response = _error_response(mapped)
    if error.code == 405 and isinstance(error, HTTPException):
        allowed = error.get_headers()
        for name, value in allowed:
            if name.lower() == "allow":
                response.headers["Allow"] = value
    return response


def _unhandled(error: Exception) -> Response:
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else "?"
    log.error("unhandled_error code=internal-error type=%s at=%s", type(error).__name__, where)
    return _error_response(InternalError())


def load_knowledge(settings: Settings) -> Any:
    """Load and validate the knowledge base (invalid knowledge raises and stops start-up) and
    apply the site's jurisdiction (CDS_JURISDICTION) to how regulatory status is presented and
    the site's choice (CDS_UNREVIEWED_RULES) on rules without clinical sign-off."""
    import dataclasses

    from rules import KnowledgeBaseError, load_kb

    kb = load_kb()
    declared = {j.id for j in kb.meta.jurisdictions}
    if settings.jurisdiction not in declared:
        raise KnowledgeBaseError(
            [f"CDS_JURISDICTION {settings.jurisdiction} is not one of {sorted(declared)}"]
        )
    update: dict[str, str] = {}
    if settings.jurisdiction != kb.meta.jurisdiction:
        update["jurisdiction"] = settings.jurisdiction
    if settings.unreviewed_rules not in ("kb", kb.meta.unreviewed_rules):
        update["unreviewed_rules"] = settings.unreviewed_rules
    if update:
        kb = dataclasses.replace(kb, meta=kb.meta.model_copy(update=update))
    return kb


def create_app(
    settings: Settings | None = None,
    *,
    registry: Registry | None = None,
    kb: Any = None,
    clock: Any = None,
    session: requests.Session | None = None,
    authenticator: Authenticator | None = None,
) -> Flask:
    """Build the app. Invalid settings or knowledge stop here, before any request is served."""
    settings = settings or load_settings()
    if kb is None:
        kb = load_knowledge(settings)
    if registry is None:
        from cds_hooks.services import build_registry

        registry = build_registry()
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()  # no pooled connection may cross a gunicorn fork
    store = FeedbackStore(engine)
    session = session or requests.Session()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["cds"] = CdsCore(
        settings, registry, kb, store, session=session, clock=clock or utc_today
    )
    from cds_hooks.demo import warm_up

    warm_up()  # the mapping's tables, loaded before the fork (once per process)
    if authenticator is None:
        if settings.auth_mode is AuthMode.OFF:
            authenticator = NoAuthentication()
        else:
            from cds_hooks.auth import build_authenticator

            authenticator = build_authenticator(settings, engine, session)
    app.extensions["cds.auth"] = authenticator
    meta = getattr(kb, "meta", None)
    if meta is not None:
        app.extensions["cds"].override_codes = frozenset(r.code for r in meta.override_reasons)
    app.extensions["cds.engine"] = engine
    app.register_blueprint(bp)
    from cds_hooks.timeline.views import register_timeline_app

    register_timeline_app(
        app, client_id=settings.smart_client_id, launch_key=settings.launch_key or None
    )  # /app/timeline: the therapy-timeline SMART app (issue 7)
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(CdsError, _error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unhandled)
    return app
