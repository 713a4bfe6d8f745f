"""Flask-free orchestration of the CDS Hooks protocol (architecture §4, steps 2-7).

``CdsCore`` holds what a process needs (settings, registry, knowledge base, feedback store,
one HTTP session) and answers discovery, service calls and feedback with wire models or
typed :mod:`cds_hooks.errors`. The Flask views only parse bytes, call one method, serialise.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests
from pydantic import ValidationError

from cds_hooks.errors import (
    DatabaseUnavailable,
    HookMismatch,
    InvalidRequest,
    RequestTooCostly,
    UnknownService,
)
from cds_hooks.fhir_client import (
    BatchSupport,
    FhirClient,
    FhirClientConfig,
    fhir_server_allowed,
)
from cds_hooks.identity import ClientIdentity
from cds_hooks.json_bounds import JsonLimits, parse_json
from cds_hooks.ledger import CardLedger
from cds_hooks.models import (
    CONTEXT_MODELS,
    CdsRequest,
    CdsResponse,
    DiscoveryResponse,
    FeedbackRequest,
)
from cds_hooks.observability import CARDS, FEEDBACK, MAPPING_ISSUES, child
from cds_hooks.prefetch import resolve
from cds_hooks.registry import Registry, ServiceDefinition
from cds_hooks.settings import Settings
from cds_hooks.store import FeedbackStore
from fhir_mapping.budget import WorkBudgetExceeded, cpu_budget

log = logging.getLogger(__name__)


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(slots=True)
class CallContext:
    """Everything a service handler may use; built per hook call."""

    service: ServiceDefinition
    request: CdsRequest
    context: dict[str, Any]
    prefetch: dict[str, Any]
    as_of: date
    kb: Any
    settings: Settings
    notes: dict[str, Any] = field(default_factory=dict)


def json_limits(settings: Settings) -> JsonLimits:
    return JsonLimits(
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
        max_string_length=settings.max_string_length,
        max_items=settings.max_json_items,
        max_values=settings.max_json_values,
    )


def _error_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    parts: list[str] = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def validation_error(exc: ValidationError, prefix: str = "") -> InvalidRequest:
    """Turn the first pydantic error into a 400 naming the field (without echoing input)."""
    err = exc.errors(include_input=False, include_url=False)[0]
    path = _error_path(tuple(err["loc"]), prefix)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "required member is missing"
    where = path or "request body"
    return InvalidRequest(f"{where}: {message}", expression=path or None)


class CdsCore:
    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        kb: Any,
        store: FeedbackStore,
        session: requests.Session | None = None,
        clock: Callable[[], date] = utc_today,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.kb = kb
        self.store = store
        self.ledger = CardLedger(store.engine)
        self.session = session or requests.Session()
        self.session.trust_env = False  # never route callbacks through an environment proxy
        self.batch_support = BatchSupport()  # FHIR bases that refused a batch of reads
        self.clock = clock
        # Threads start on first use, i.e. in each gunicorn worker after the fork.
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fhir-fetch")
        self.override_codes: frozenset[str] = frozenset()
        self.limits = json_limits(settings)
        self.fhir_config = FhirClientConfig(
            timeout_s=settings.fhir_timeout_s,
            max_pages=settings.fhir_max_pages,
            max_response_bytes=settings.fhir_max_response_bytes,
        )

    # -- discovery ---------------------------------------------------------------------------
    def discovery(self) -> DiscoveryResponse:
        return DiscoveryResponse(services=[d.descriptor() for d in self.registry.all()])

    def service(self, service_id: str) -> ServiceDefinition:
        definition = self.registry.get(service_id)
        if definition is None:
            raise UnknownService()
        return definition

    # -- hook calls --------------------------------------------------------------------------
    def parse_request(self, definition: ServiceDefinition, body: Any) -> CdsRequest:
        if not isinstance(body, dict):
            raise InvalidRequest("request body: must be a JSON object")
        try:
            request = CdsRequest.model_validate(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
        if request.hook != definition.hook:
            raise HookMismatch(
                f"hook: service {definition.id} serves {definition.hook}, not the hook sent",
                expression="hook",
            )
        try:
            CONTEXT_MODELS[definition.hook].model_validate(request.context)
        except ValidationError as exc:
            raise validation_error(exc, "context") from None
        return request

    def fhir_client_for(self, request: CdsRequest, identity: ClientIdentity) -> FhirClient | None:
        if request.fhir_server is None:
            return None
        prefixes = list(identity.fhir_servers) + list(self.settings.fhir_allowlist)
        if not fhir_server_allowed(
            request.fhir_server,
            prefixes,
            allow_insecure_loopback=self.settings.allow_insecure_loopback_fhir,
        ):
            log.warning("fhir_server_refused code=fhir-server-not-allowed")
            return None
        token = request.fhir_authorization.access_token if request.fhir_authorization else None
        return FhirClient(
            self.session, request.fhir_server, token, self.fhir_config, self.batch_support
        )

    def call_service(
        self, service_id: str, raw: bytes, identity: ClientIdentity
    ) -> tuple[CdsResponse, dict[str, Any]]:
        """Answer one hook call; returns the response and log fields (no patient data).

        The service id is checked before the body is parsed: an unknown id costs nothing. The
        call runs within its CPU budget (:mod:`fhir_mapping.budget`): a call that spends it is
        stopped and answered 503 ``request-too-costly``."""
        started = time.perf_counter()
        definition = self.service(service_id)
        try:
            with cpu_budget(self.settings.request_cpu_budget_s):
                return self._call(definition, raw, identity, started)
        except WorkBudgetExceeded as exc:
            log.warning("request_too_costly service=%s budget_s=%g", definition.id, exc.budget_s)
            raise RequestTooCostly() from None

    def _call(
        self, definition: ServiceDefinition, raw: bytes, identity: ClientIdentity, started: float
    ) -> tuple[CdsResponse, dict[str, Any]]:
        request = self.parse_request(definition, parse_json(raw, self.limits))
        client = self.fhir_client_for(request, identity)
        as_of = self.clock()
        resolved = resolve(
            definition.prefetch, request.prefetch, request.context, client, self.executor, as_of
        )
        ctx = CallContext(
            service=definition,
            request=request,
            context=request.context,
            prefetch=resolved.data,
            as_of=as_of,
            kb=self.kb,
            settings=self.settings,
        )
        cards = definition.handler(ctx)
        response = CdsResponse(cards=cards)
        issued: list[tuple[str, str, str]] = ctx.notes.get("issued", [])
        for _uuid, rule_id, indicator in issued:
            child(CARDS, definition.id, rule_id, indicator).inc()
        self.ledger.record(definition.id, issued)
        for kind, count in ctx.notes.get("issue_kinds", {}).items():
            child(MAPPING_ISSUES, kind).inc(count)
        fields = {
            "hook_instance": request.hook_instance,
            "service": definition.id,
            "cards": len(cards),
            "fetched": resolved.fetched,
            # how each prefetch key was obtained (prefetch, prefetch-null, fetched, ...)
            "prefetch": ",".join(f"{k}:{v}" for k, v in resolved.sources.items()),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            **{k: v for k, v in ctx.notes.items() if k in {"rules", "mapping_issues"}},
        }
        if resolved.unavailable:
            # why each unavailable key could not be had; the routine ones (optional keys not
            # sent, no FHIR server to ask) are told only here, not in a warning each
            fields["prefetch_unavailable"] = ",".join(
                f"{k}:{v}" for k, v in resolved.unavailable.items()
            )
        return response, fields

    # -- feedback ----------------------------------------------------------------------------
    def record_feedback(self, service_id: str, raw: bytes, identity: ClientIdentity) -> int:
        self.service(service_id)
        body = parse_json(raw, self.limits)
        if not isinstance(body, dict):
            raise InvalidRequest("request body: must be a JSON object")
        try:
            request = FeedbackRequest.model_validate(body)
        except ValidationError as exc:
            raise validation_error(exc) from None
        accepted = self.store.record(service_id, request.feedback, identity.iss)
        # Cards issued moments ago must be attributable; during an outage their rows stay
        # queued, and the report joins them to this feedback once they are written.
        with contextlib.suppress(DatabaseUnavailable):
            self.ledger.flush()
        rules = self.store.rules_for(item.card for item in request.feedback)
        for item in request.feedback:
            reason = item.override_reason.reason if item.override_reason else None
            code = reason.code if reason and reason.code in self.override_codes else "other"
            FEEDBACK.labels(
                service_id,
                rules.get(item.card, "unknown"),
                item.outcome,
                code if item.outcome == "overridden" and reason else "-",
            ).inc()
        return accepted

    def shutdown(self) -> None:
        """The process is about to exit: write what the card ledger still holds."""
        self.ledger.close()

    def ready(self) -> dict[str, bool]:
        return {"knowledge_base": self.kb is not None, "database": self.store.ping()}
