"""The therapy-timeline SMART app (issue 7): ``/app/timeline`` and its SMART App Launch routes.

One patient's diagnosis, biomarkers, lines of therapy (agent, dose, start, stop, why it
stopped), disease-status events and the recommended next step, drawn as a server-side SVG
from the same :func:`fhir_mapping.map_prefetch` and :func:`rules.evaluate` the cards use.
The evidence behind each recommendation is one click away (``<details>``; no JavaScript).

Launch (SMART App Launch 2.x, public client, authorization code + PKCE S256):

* EHR launch: ``GET /app/timeline/launch?iss=<FHIR base>&launch=<opaque>``;
* standalone launch: ``GET /app/timeline/launch?iss=<FHIR base>`` (asks for ``launch/patient``);
* endpoints come from ``{iss}/.well-known/smart-configuration``; a server without one, or one
  that gives ``Patient/<patient>`` without a token when the link names the patient, is an open
  server and is read directly: ``GET /app/timeline?iss=<FHIR base>&patient=<id>``.

Only FHIR servers on ``CDS_FHIR_ALLOWLIST`` are contacted. Scopes are the four read scopes the
page needs. ``state`` and the PKCE verifier travel in a short-lived, signed, HttpOnly cookie
that the callback consumes; the access token and the patient data live only for the request
that renders the page (``Cache-Control: no-store``), nothing is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as WerkzeugResponse

from cds_hooks.fhir_client import FhirClient, FhirUnavailable, bounded_get, fhir_server_allowed
from cds_hooks.registry import render_template
from cds_hooks.settings import Settings, is_loopback_host
from fhir_mapping import map_prefetch
from rules import evaluate
from rules.patient import (
    Biomarker,
    DiseaseStatusValue,
    LineOfTherapy,
    PartialDate,
    Patient,
    ResultValue,
    StopReason,
)
from rules.results import Recommendation

log = logging.getLogger(__name__)

smart_bp = Blueprint("smart_app", __name__)

APP_PATH = "/app/timeline"
LAUNCH_PATH = f"{APP_PATH}/launch"
CALLBACK_PATH = f"{APP_PATH}/callback"
COOKIE = "sarcoma_smart_launch"
COOKIE_MAX_AGE_S = 600
DEFAULT_CLIENT_ID = "sarcoma-cds-timeline"
#: The only resource types the page reads (SMART v1 scope syntax, understood by v2 servers).
READ_SCOPES = (
    "patient/Patient.read",
    "patient/Condition.read",
    "patient/Observation.read",
    "patient/MedicationRequest.read",
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


def _url_ok(url: Any, settings: Settings) -> bool:
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
    if not _url_ok(authorize, settings) or not _url_ok(token, settings):
        raise LaunchError(502, "SMART discovery gave unusable authorization or token endpoints.")
    return SmartConfiguration(authorization_endpoint=str(authorize), token_endpoint=str(token))


# -- reading the patient --------------------------------------------------------------------


def read_patient_data(
    session: requests.Session, settings: Settings, iss: str, patient_id: str, token: str | None
) -> dict[str, Any]:
    """The prefetch the cards would get, read with the sarcoma services' own templates."""
    from cds_hooks.fhir_client import FhirClientConfig
    from cds_hooks.services.sarcoma import PREFETCH

    client = FhirClient(
        session,
        iss,
        token,
        FhirClientConfig(
            timeout_s=settings.fhir_timeout_s,
            max_pages=settings.fhir_max_pages,
            max_response_bytes=settings.fhir_max_response_bytes,
        ),
    )
    context = {"patientId": patient_id}
    prefetch: dict[str, Any] = {}
    for spec in PREFETCH:
        relative = render_template(spec.template, context)
        if relative is None:
            continue
        prefetch[spec.key] = client.search(relative) if spec.searchset else client.read(relative)
    return prefetch


# -- the timeline model ---------------------------------------------------------------------


@dataclass
class Event:
    row: str
    date: PartialDate | None
    label: str
    detail: str
    tone: str = "neutral"


@dataclass
class Timeline:
    patient_id: str
    name: str
    as_of: dt.date
    diagnosis: list[Event] = field(default_factory=list)
    biomarkers: list[Event] = field(default_factory=list)
    statuses: list[Event] = field(default_factory=list)
    lines: list[LineOfTherapy] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


STATUS_TONE = {
    DiseaseStatusValue.PROGRESSION: ("progression", "bad"),
    DiseaseStatusValue.STABLE: ("stable", "neutral"),
    DiseaseStatusValue.IMPROVED: ("improved", "good"),
    DiseaseStatusValue.UNDETERMINED: ("undetermined", "neutral"),
}
LINE_TONE = {
    StopReason.PROGRESSION: "bad",
    StopReason.TOXICITY: "warn",
    StopReason.COMPLETED: "neutral",
    StopReason.OTHER: "neutral",
    StopReason.UNKNOWN: "neutral",
}
COLOURS = {
    "bad": "#b03a2e",
    "warn": "#b9770e",
    "good": "#1e8449",
    "neutral": "#5d6d7e",
    "current": "#1f618d",
}


def _patient_name(resource: Any) -> str:
    if not isinstance(resource, dict):
        return ""
    for name in resource.get("name") or []:
        if isinstance(name, dict):
            parts = [*(name.get("given") or []), name.get("family") or ""]
            text = name.get("text") or " ".join(str(p) for p in parts if p)
            if text:
                return str(text)
    return ""


def _biomarker_label(marker: Biomarker) -> str:
    genes = "::".join(g.symbol for g in (marker.five_prime, marker.three_prime) if g) or "/".join(
        g.symbol for g in (marker.gene, *marker.partners)
    )
    what = marker.hotspot or (f"exon {marker.exon}" if marker.exon else "") or marker.hgvs_p or ""
    kind = marker.kind.value if marker.kind.value not in ("variant",) else ""
    result = {ResultValue.PRESENT: "", ResultValue.ABSENT: " not detected"}.get(
        marker.result, " indeterminate"
    )
    return " ".join(p for p in (genes, what, kind) if p) + result


def line_dose(line: LineOfTherapy) -> str:
    doses = []
    for exposure in line.exposures:
        schedule = exposure.dose.schedule if exposure.dose else None
        if schedule:
            doses.append(f"{exposure.agent.ingredient} {schedule}")
    return "; ".join(dict.fromkeys(doses))


def build_timeline(prefetch: dict[str, Any], patient_id: str, kb: Any, as_of: dt.date) -> Timeline:
    """Map and evaluate exactly as the patient-view service does, then lay out the facts."""
    result = map_prefetch(prefetch, {"patientId": patient_id})
    patient: Patient = result.patient
    recommendations = [
        r for r in evaluate(patient, kb, as_of, "patient-view") if r.kind != "summary"
    ]
    timeline = Timeline(
        patient_id=patient_id,
        name=_patient_name(prefetch.get("patient")),
        as_of=as_of,
        lines=list(patient.lines_of_therapy()),
        recommendations=recommendations,
    )
    for diagnosis in patient.diagnoses:
        label = diagnosis.histology.value.replace("-", " ")
        if diagnosis.subtype:
            label = f"{diagnosis.subtype.value} {label}"
        timeline.diagnosis.append(
            Event("diagnosis", diagnosis.onset or diagnosis.recorded, label, diagnosis.source_ref)
        )
    for marker in patient.biomarkers:
        tone = "good" if marker.result is ResultValue.PRESENT else "neutral"
        timeline.biomarkers.append(
            Event("biomarker", marker.date, _biomarker_label(marker), marker.source_ref, tone)
        )
    for status in sorted(patient.disease_status, key=lambda s: (s.date is None, s.date)):
        label, tone = STATUS_TONE[status.value]
        timeline.statuses.append(Event("status", status.date, label, status.source_ref, tone))
    return timeline


# -- rendering ------------------------------------------------------------------------------

WIDTH = 980
LEFT = 150
RIGHT = 40
ROW = 44


def _day(value: PartialDate | None, *, upper: bool = False) -> dt.date | None:
    if value is None:
        return None
    return value.upper_bound() if upper else value.lower_bound()


def render_svg(timeline: Timeline) -> str:
    days: list[dt.date] = [timeline.as_of]
    for event in (*timeline.diagnosis, *timeline.biomarkers, *timeline.statuses):
        if event.date:
            days.append(event.date.lower_bound())
    for line in timeline.lines:
        days.extend(d for d in (_day(line.start), _day(line.end, upper=True)) if d)
    start = min(days) - dt.timedelta(days=45)
    end = max(days) + dt.timedelta(days=75)
    span = max((end - start).days, 1)
    plot = WIDTH - LEFT - RIGHT

    def x(day: dt.date) -> float:
        return round(LEFT + (day - start).days / span * plot, 1)

    rows = ["Diagnosis", "Biomarkers"] + [f"Line {line.number}" for line in timeline.lines]
    rows += ["Disease status", "Next step"]
    height = 50 + ROW * len(rows) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="tl-title" data-testid="timeline-svg">',
        f'<title id="tl-title">Therapy timeline of patient {escape(timeline.patient_id)}</title>',
        "<style>text{font:12px sans-serif;fill:#1b2631}.lab{font-weight:bold}"
        ".small{font-size:11px;fill:#424949}</style>",
    ]
    for year in range(start.year, end.year + 1):
        day = dt.date(year, 1, 1)
        if start <= day <= end:
            out.append(
                f'<line x1="{x(day)}" y1="30" x2="{x(day)}" y2="{height - 10}" '
                'stroke="#d5d8dc" stroke-dasharray="3,3"/>'
                f'<text x="{x(day) + 3}" y="24" class="small">{year}</text>'
            )
    today = x(timeline.as_of)
    out.append(
        f'<line x1="{today}" y1="30" x2="{today}" y2="{height - 10}" stroke="#1f618d"/>'
        f'<text x="{today + 3}" y="40" class="small">today {timeline.as_of.isoformat()}</text>'
    )
    for index, title in enumerate(rows):
        y = 50 + ROW * index + ROW // 2
        out.append(f'<text x="8" y="{y + 4}" class="lab">{escape(title)}</text>')

    def marker_row(events: list[Event], row_index: int) -> None:
        y = 50 + ROW * row_index + ROW // 2
        for offset, event in enumerate(events):
            if event.date is None:
                continue
            cx = x(event.date.lower_bound())
            colour = COLOURS[event.tone]
            label = f"{event.label} {event.date.isoformat()}"
            dy = -8 if offset % 2 == 0 else 16
            out.append(
                f'<g data-testid="event"><circle cx="{cx}" cy="{y}" r="6" fill="{colour}">'
                f"<title>{escape(label)} ({escape(event.detail)})</title></circle>"
                f'<text x="{cx + 9}" y="{y + dy}" class="small">{escape(label)}</text></g>'
            )

    marker_row(timeline.diagnosis, 0)
    marker_row(timeline.biomarkers, 1)
    for index, line in enumerate(timeline.lines):
        y = 50 + ROW * (index + 2) + 8
        first = _day(line.start) or timeline.as_of
        last = _day(line.end, upper=True) or timeline.as_of
        tone = "current" if line.ended_by is None else LINE_TONE[line.ended_by]
        stop = line.end.isoformat() if line.end else "ongoing"
        why = line.ended_by.value if line.ended_by else "ongoing"
        dose = line_dose(line)
        text = f"{', '.join(line.agents)}{f' ({dose})' if dose else ''}"
        dates = f"{line.start.isoformat() if line.start else '?'} to {stop}: {why}"
        out.append(
            f'<g data-testid="line-bar"><rect x="{x(first)}" y="{y}" '
            f'width="{max(x(last) - x(first), 4)}" height="14" rx="3" fill="{COLOURS[tone]}">'
            f"<title>{escape(text)}, {escape(dates)}</title></rect>"
            f'<text x="{x(first)}" y="{y - 2}" class="small">{escape(text)}</text>'
            f'<text x="{x(first)}" y="{y + 27}" class="small">{escape(dates)}</text></g>'
        )
    marker_row(timeline.statuses, len(rows) - 2)
    y = 50 + ROW * (len(rows) - 1) + ROW // 2
    if timeline.recommendations:
        first_rec = timeline.recommendations[0]
        out.append(
            f'<g data-testid="next-step"><path d="M{today - 8},{y - 7} L{today + 4},{y} '
            f'L{today - 8},{y + 7} z" fill="#1f618d"/>'
            f'<text x="{LEFT}" y="{y + 4}">{escape(first_rec.summary[:120])}</text></g>'
        )
    else:
        out.append(f'<text x="{LEFT}" y="{y + 4}">No recommendation from the knowledge base</text>')
    out.append("</svg>")
    return "".join(out)


def _recommendation_html(rec: Recommendation) -> str:
    findings = "".join(
        f"<li>{escape(f.text)}"
        + (f' <span class="ref">({escape(f.source_ref)})</span>' if f.source_ref else "")
        + "</li>"
        for f in rec.findings
    )
    citations = "".join(
        "<li>"
        + (
            f'<a href="{escape(source.link)}" rel="noopener noreferrer">{escape(source.title)}</a>'
            if source.link
            else escape(source.title)
        )
        + f" ({escape(source.publisher)}, {source.year})</li>"
        for source in rec.citations
    )
    options = "".join(
        f"<li>{escape(option.drug.display)}: {escape(option.dose)}</li>" for option in rec.options
    )
    note = f"<p>{escape(rec.evidence_note)}</p>" if rec.evidence_note else ""
    return (
        f'<details data-testid="recommendation" class="{escape(rec.indicator)}">'
        f"<summary>{escape(rec.summary)}</summary>"
        f"<p>{escape(rec.what)}</p>"
        + (f"<h4>Options</h4><ul>{options}</ul>" if options else "")
        + f"<h4>Why (patient facts)</h4><ul>{findings}</ul>"
        f"<h4>Evidence: {escape(rec.evidence_label)}</h4>{note}<ul>{citations}</ul>"
        f'<p class="small">Rule {escape(rec.rule_id)} v{escape(rec.rule_version)}, '
        f"{escape(rec.review_line)}</p></details>"
    )


def render_page(timeline: Timeline) -> str:
    rows = "".join(
        f'<tr data-testid="line-row"><td>{line.number}</td>'
        f"<td>{escape(', '.join(line.agents))}</td>"
        f"<td>{escape(line_dose(line) or 'not recorded')}</td>"
        f"<td>{escape(line.start.isoformat() if line.start else 'unknown')}</td>"
        f"<td>{escape(line.end.isoformat() if line.end else 'ongoing')}</td>"
        f"<td>{escape(line.ended_by.value if line.ended_by else 'ongoing')}</td></tr>"
        for line in timeline.lines
    )
    lines_table = (
        "<table><thead><tr><th>Line</th><th>Agent</th><th>Dose</th><th>Start</th><th>Stop</th>"
        f"<th>Why it stopped</th></tr></thead><tbody>{rows}</tbody></table>"
        if timeline.lines
        else "<p>No line of therapy on record.</p>"
    )
    recommendations = "".join(_recommendation_html(r) for r in timeline.recommendations) or (
        "<p>No recommendation.</p>"
    )
    title = escape(timeline.name or f"Patient {timeline.patient_id}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Therapy timeline: {title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font:14px sans-serif;margin:16px;color:#1b2631}"
        "table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccd1d1;padding:4px 8px}"
        "details{border:1px solid #ccd1d1;border-radius:4px;margin:6px 0;padding:6px}"
        "details.warning,details.critical{border-color:#b03a2e}summary{cursor:pointer;"
        "font-weight:bold}.ref,.small{color:#566573;font-size:12px}</style></head><body>"
        f'<h1 data-testid="patient">{title} <span class="small">Patient/'
        f"{escape(timeline.patient_id)}, as of {timeline.as_of.isoformat()}</span></h1>"
        f"{render_svg(timeline)}<h2>Lines of therapy</h2>{lines_table}"
        f"<h2>Recommended next step</h2>{recommendations}"
        '<p class="small">Decision support for sarcoma specialists, not an order. Nothing shown '
        "here is stored by the service.</p></body></html>"
    )


# -- views ----------------------------------------------------------------------------------


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


def _render_for(iss: str, patient_id: str, token: str | None) -> Response:
    core = current_app.extensions["cds"]
    prefetch = read_patient_data(core.session, core.settings, iss, patient_id, token)
    timeline = build_timeline(prefetch, patient_id, core.kb, core.clock())
    return Response(render_page(timeline), status=200, mimetype="text/html")


@smart_bp.get(APP_PATH)
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
            raise LaunchError(
                502, f"The FHIR server could not give the data ({exc.reason})."
            ) from None
    except LaunchError as exc:
        return _page(exc.status, exc.message)


def _is_open(session: requests.Session, iss: str, patient_id: str, settings: Settings) -> bool:
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


@smart_bp.get(LAUNCH_PATH)
def launch() -> ResponseReturnValue:
    """EHR launch (iss + launch) or standalone launch (iss only)."""
    try:
        iss = _check_iss(request.args.get("iss"))
        launch_token = request.args.get("launch")
        core = current_app.extensions["cds"]
        patient_id = request.args.get("patient", "")
        if FHIR_ID_RE.match(patient_id) and _is_open(core.session, iss, patient_id, core.settings):
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


def _exchange_code(pending: dict[str, Any], code: str) -> tuple[str, str]:
    core = current_app.extensions["cds"]
    try:
        response = core.session.post(
            pending["token"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": pending["redirect"],
                "client_id": _client_id(),
                "code_verifier": pending["verifier"],
            },
            headers={"Accept": "application/json"},
            timeout=core.settings.fhir_timeout_s,
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


@smart_bp.get(CALLBACK_PATH)
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
        access_token, patient_id = _exchange_code(pending, code)
        try:
            response = _render_for(iss, patient_id, access_token)
        except FhirUnavailable as exc:
            raise LaunchError(
                502, f"The FHIR server could not give the data ({exc.reason})."
            ) from None
    except LaunchError as exc:
        response = _page(exc.status, exc.message)
    response.delete_cookie(COOKIE, path=APP_PATH)
    return response


def register_smart_app(
    app: Flask, *, client_id: str | None = None, launch_key: str | None = None
) -> None:
    """Mount the timeline app. Without a configured key, the cookie key is made once per app,
    before workers fork (enough for one machine; replicas share CDS_LAUNCH_KEY)."""
    app.extensions["smart.key"] = launch_key.encode() if launch_key else secrets.token_bytes(32)
    app.extensions["smart.client_id"] = client_id or DEFAULT_CLIENT_ID
    app.register_blueprint(smart_bp)
