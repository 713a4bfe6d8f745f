"""Pydantic wire models for CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/).

Python attributes are snake_case; the wire uses camelCase aliases. Outbound models are strict
(``extra="forbid"``) and serialise with :meth:`WireModel.to_wire`, which omits unset optional
members so that no ``null``, ``""``, ``[]`` or ``{}`` reaches the wire (spec item 2). Optional
lists are ``None`` when empty and validators refuse empty strings and empty lists. Inbound
models tolerate unknown members (item 4) because hook definitions may add optional fields.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
# Hook Library invariant ord-1 (item 24): "Type/id" references.
REFERENCE_RE = re.compile(r"^[\w]+/[\w\-.]+$")
# FHIR id datatype: [A-Za-z0-9\-\.]{1,64}
FHIR_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
USER_TYPES = {"Practitioner", "PractitionerRole", "Patient", "RelatedPerson"}


def _no_empty_list(value: list[Any] | None) -> list[Any] | None:
    if value is not None and not value:
        raise ValueError("an empty list must be omitted (None), never sent as []")
    return value


def _absolute_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an absolute http(s) URL")
    return value


AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]


class WireModel(BaseModel):
    """Outbound base: strict, immutable, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class InboundModel(BaseModel):
    """Inbound base: camelCase on the wire, unknown members kept and ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# --------------------------------------------------------------------------------------------
# Responses (section K)


class Indicator(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class SelectionBehavior(StrEnum):
    AT_MOST_ONE = "at-most-one"
    ANY = "any"


class Coding(WireModel):
    """Spec §Coding (item 71): ``system`` and ``code`` required; ``display`` conditional."""

    system: NonEmptyStr
    code: NonEmptyStr
    display: NonEmptyStr | None = None


class Source(WireModel):
    """Card source (item 66)."""

    label: NonEmptyStr
    url: AbsoluteUrl | None = None
    icon: AbsoluteUrl | None = None
    topic: Coding | None = None


class Link(WireModel):
    """Card link (item 69). ``appContext`` only on smart links."""

    label: NonEmptyStr
    url: AbsoluteUrl
    type: Literal["absolute", "smart"]
    app_context: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> Link:
        if self.app_context is not None and self.type != "smart":
            raise ValueError("appContext is only valid on smart links")
        return self


class Action(WireModel):
    """Suggestion action (item 68): lowercase type, description always, resource as an object."""

    type: Literal["create", "update", "delete"]
    description: NonEmptyStr
    resource: dict[str, Any] | None = None
    resource_id: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _conditional_members(self) -> Action:
        if self.type in {"create", "update"}:
            if not self.resource or "resourceType" not in self.resource:
                raise ValueError(f"{self.type} actions carry a whole FHIR resource")
            if self.type == "update" and "id" not in self.resource:
                raise ValueError("update actions carry the whole resource including its id")
        if self.type == "delete" and (
            self.resource_id is None or not REFERENCE_RE.match(self.resource_id)
        ):
            raise ValueError("delete actions need resourceId as a relative reference Type/id")
        return self


class Suggestion(WireModel):
    """Card suggestion (item 67)."""

    label: NonEmptyStr
    uuid: NonEmptyStr | None = None
    is_recommended: bool | None = None
    actions: Annotated[list[Action] | None, AfterValidator(_no_empty_list)] = None


class Card(WireModel):
    """Card (item 65): summary under 140 characters; selectionBehavior with suggestions."""

    uuid: NonEmptyStr | None = None
    summary: Annotated[str, StringConstraints(min_length=1, max_length=139)]
    detail: NonEmptyStr | None = None
    indicator: Indicator
    source: Source
    suggestions: Annotated[list[Suggestion] | None, AfterValidator(_no_empty_list)] = None
    selection_behavior: SelectionBehavior | None = None
    override_reasons: Annotated[list[Coding] | None, AfterValidator(_no_empty_list)] = None
    links: Annotated[list[Link] | None, AfterValidator(_no_empty_list)] = None

    @model_validator(mode="after")
    def _card_invariants(self) -> Card:
        if self.suggestions and self.selection_behavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        if self.override_reasons and any(r.display is None for r in self.override_reasons):
            raise ValueError("every override reason needs a display")
        if (
            self.selection_behavior is SelectionBehavior.AT_MOST_ONE
            and self.suggestions
            and sum(1 for s in self.suggestions if s.is_recommended) > 1
        ):
            raise ValueError("at-most-one cards recommend at most one suggestion")
        return self


class CdsResponse(WireModel):
    """Service response (item 63). ``cards`` is always present; ``[]`` means no advice."""

    cards: list[Card]
    system_actions: Annotated[list[Action] | None, AfterValidator(_no_empty_list)] = None


# --------------------------------------------------------------------------------------------
# Discovery (section B)


class ServiceDescriptor(WireModel):
    hook: NonEmptyStr
    title: NonEmptyStr | None = None
    description: NonEmptyStr
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-_.]+$")]
    prefetch: dict[str, NonEmptyStr] | None = None
    usage_requirements: NonEmptyStr | None = None

    @field_validator("prefetch")
    @classmethod
    def _no_empty_prefetch(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and not value:
            raise ValueError("an empty prefetch must be omitted")
        return value


class DiscoveryResponse(WireModel):
    services: list[ServiceDescriptor]


# --------------------------------------------------------------------------------------------
# Requests (sections C and D)


class FhirAuthorization(BaseModel):
    """``fhirAuthorization`` (item 15). The spec's wire names are snake_case here.

    ``expires_in`` is tolerated when missing (clients shipped without it, item 15 notes).
    The token is transient (item 16): never log or store it; ``repr`` hides it.
    """

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    access_token: NonEmptyStr = Field(repr=False)
    token_type: NonEmptyStr
    expires_in: int | None = None
    scope: NonEmptyStr
    subject: NonEmptyStr
    patient: NonEmptyStr | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be Bearer")
        return value


def _user_reference(value: str) -> str:
    if not REFERENCE_RE.match(value) or value.split("/", 1)[0] not in USER_TYPES:
        raise ValueError(
            "must be a reference such as Practitioner/123 "
            "(Practitioner, PractitionerRole, Patient or RelatedPerson)"
        )
    return value


def _fhir_id(value: str) -> str:
    if not FHIR_ID_RE.match(value):
        raise ValueError("must be a bare FHIR id ([A-Za-z0-9-.]{1,64}), not a reference")
    return value


UserReference = Annotated[str, AfterValidator(_user_reference)]
FhirId = Annotated[str, AfterValidator(_fhir_id)]


class PatientViewContext(InboundModel):
    """patient-view context (item 18)."""

    user_id: UserReference
    patient_id: FhirId
    encounter_id: FhirId | None = None


class DraftOrdersBundle(BaseModel):
    """``draftOrders``: a Bundle of any type (item 22); entries are read leniently."""

    model_config = ConfigDict(extra="allow")

    resource_type: Literal["Bundle"] = Field(alias="resourceType")
    entry: list[dict[str, Any]] | None = None


class OrderSignContext(PatientViewContext):
    """order-sign context (item 20): orders may have a status other than draft."""

    draft_orders: DraftOrdersBundle


def _selection(value: str) -> str:
    if not REFERENCE_RE.match(value):
        raise ValueError("selections are Type/id references such as MedicationRequest/103")
    return value


class OrderSelectContext(OrderSignContext):
    """order-select context (item 19): the service focuses on ``selections``."""

    selections: Annotated[list[Annotated[str, AfterValidator(_selection)]], Field(min_length=1)]

    @model_validator(mode="after")
    def _selections_in_draft_orders(self) -> OrderSelectContext:
        present = set()
        for entry in self.draft_orders.entry or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                present.add(f"{resource.get('resourceType')}/{resource.get('id')}")
        missing = [s for s in self.selections if s not in present]
        if missing:
            raise ValueError(f"selections not found in draftOrders: {', '.join(missing)}")
        return self


CONTEXT_MODELS: dict[str, type[PatientViewContext]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class CdsRequest(InboundModel):
    """Hook request body (item 14). Unknown members are tolerated."""

    hook: NonEmptyStr
    hook_instance: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    fhir_server: AbsoluteUrl | None = None
    fhir_authorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> CdsRequest:
        if self.fhir_authorization is not None and self.fhir_server is None:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self


# --------------------------------------------------------------------------------------------
# Feedback (section L)


class AcceptedSuggestion(InboundModel):
    id: NonEmptyStr


class FeedbackCoding(InboundModel):
    """Override reason coding; ``display`` is optional here (item 77: the Sandbox omits it)."""

    system: NonEmptyStr | None = None
    code: NonEmptyStr
    display: str | None = None


class OverrideReason(InboundModel):
    reason: FeedbackCoding | None = None
    user_comment: str | None = None


class FeedbackItem(InboundModel):
    """One feedback entry (item 76)."""

    card: NonEmptyStr
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: list[AcceptedSuggestion] | None = None
    override_reason: OverrideReason | None = None
    outcome_timestamp: NonEmptyStr

    @field_validator("outcome_timestamp")
    @classmethod
    def _rfc3339(cls, value: str) -> str:
        if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
            raise ValueError("must be an RFC 3339 date-time such as 2026-01-01T10:00:00.000Z")
        return value

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.accepted_suggestions:
            raise ValueError("acceptedSuggestions is required for accepted outcomes")
        return self


class FeedbackRequest(InboundModel):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=1000)]
