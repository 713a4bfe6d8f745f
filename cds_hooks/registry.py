"""Service declarations and the registry keyed by service id (architecture S4).

A service is declared once (id, hook, title, description, usage requirements, prefetch, handler);
discovery and prefetch checking both derive from that declaration. Prefetch templates are
checked against the 2.0 token and query rules (spec items 25-29) when registered, so an
invalid template can never be published.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from cds_hooks.models import Card, ServiceDescriptor

if TYPE_CHECKING:
    from cds_hooks.protocol import CallContext

TOKEN_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Context fields that the Hook Library marks "Prefetch Token: Yes" (items 18-20, 27).
TOKEN_CONTEXT_FIELDS = {
    "patient-view": {"userId", "patientId", "encounterId"},
    "order-select": {"userId", "patientId", "encounterId"},
    "order-sign": {"userId", "patientId", "encounterId"},
}
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
# Item 29: the recommended subset. Token modifiers other than :in are outside it.
ALLOWED_MODIFIERS = {"", "in"}
DATE_PREFIXES = ("eq", "lt", "gt", "ge", "le")


class TemplateError(ValueError):
    """A prefetch template breaks the CDS Hooks 2.0 token or query rules."""


@dataclass(frozen=True, slots=True)
class PrefetchSpec:
    key: str
    template: str
    required: bool = True
    searchset: bool = True
    # False: used when the client prefetches it, never fetched back from the FHIR server.
    fetch_if_missing: bool = True
    # When the service runs the search itself: only resources dated within this many days
    # before the call's date (``&date=ge...``); ``None``: no date filter. Prefetch templates
    # cannot express a relative date in CDS Hooks 2.0.
    fetch_since_days: int | None = None


Handler = Callable[["CallContext"], list[Card]]


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: tuple[PrefetchSpec, ...]
    handler: Handler = field(compare=False)

    def descriptor(self) -> ServiceDescriptor:
        return ServiceDescriptor(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch={p.key: p.template for p in self.prefetch} or None,
            usage_requirements=self.usage_requirements or None,
        )


def check_template(template: str, hook: str) -> None:
    """Raise :class:`TemplateError` unless ``template`` obeys spec items 25-29."""
    if "://" in template.partition("?")[0] or template.startswith("/"):
        raise TemplateError("templates are relative to the FHIR base (item 25)")
    allowed = {f"context.{name}" for name in TOKEN_CONTEXT_FIELDS.get(hook, set())}
    allowed |= set(USER_TOKENS)
    for token in TOKEN_RE.findall(template):
        if token not in allowed:
            raise TemplateError(f"token {{{{{token}}}}} is not a prefetch token of {hook}")
    stripped = TOKEN_RE.sub("x", template)
    if "{" in stripped or "}" in stripped:
        raise TemplateError("tokens must be delimited by {{ and }} (item 26)")
    path, _, query = template.partition("?")
    segments = path.split("/")
    if not re.fullmatch(r"[A-Z][A-Za-z]+", segments[0]):
        raise TemplateError("a template starts with a FHIR resource type")
    if len(segments) == 2 and not query:
        token = TOKEN_RE.fullmatch(segments[1])
        if token is None and not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", segments[1]):
            raise TemplateError("read templates are Type/{{id token}}")
        if token and token.group(1) == "context.userId":
            raise TemplateError("{{context.userId}} is a full reference; use it alone (item 28)")
        return
    if len(segments) != 1:
        raise TemplateError("only instance read or type-level search is allowed (item 29)")
    if template.rstrip().endswith("{{context.userId}}") and "/" in template:
        raise TemplateError("Type/{{context.userId}} doubles the type (item 28)")
    for name, value in parse_qsl(query, keep_blank_values=True):
        base, _, modifier = name.partition(":")
        if base == "sort" or modifier not in ALLOWED_MODIFIERS:
            raise TemplateError(f"parameter {name!r} is outside the recommended subset")
        if not value:
            raise TemplateError(f"parameter {name!r} has no value")
        if base == "date" and value[:2].isalpha() and not value.startswith(DATE_PREFIXES):
            raise TemplateError("date parameters use only eq, lt, gt, ge, le")


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Expand the tokens from ``context``; ``None`` when a token has no value."""
    user_id = context.get("userId")
    values: dict[str, str] = {}
    for name in ("userId", "patientId", "encounterId"):
        if isinstance(context.get(name), str) and context[name]:
            values[f"context.{name}"] = context[name]
    if isinstance(user_id, str) and "/" in user_id:
        kind, _, ident = user_id.partition("/")
        for token, resource_type in USER_TOKENS.items():
            if kind == resource_type:
                values[token] = ident
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None:
            missing = True
            return ""
        # userId is a whole reference (Type/id): keep its slash; everything else is one value.
        safe = "/" if match.group(1) == "context.userId" else ""
        return quote(value, safe=safe)

    rendered = TOKEN_RE.sub(substitute, template)
    return None if missing else rendered


class Registry:
    """Services keyed by id; never dispatched by hook alone (architecture §2.3 defect 1)."""

    def __init__(self) -> None:
        self._services: dict[str, ServiceDefinition] = {}

    def register(self, definition: ServiceDefinition) -> None:
        if definition.id in self._services:
            raise ValueError(f"service id {definition.id!r} is already registered")
        for spec in definition.prefetch:
            check_template(spec.template, definition.hook)
        self._services[definition.id] = definition

    def get(self, service_id: str) -> ServiceDefinition | None:
        return self._services.get(service_id)

    def all(self) -> list[ServiceDefinition]:
        return list(self._services.values())
