"""Knowledge-base schema: the shape every reviewed YAML file must have.

All models forbid unknown keys (``extra="forbid"``) so that a misspelt key, or a YAML 1.1
boolean such as a bare ``on:``, fails at load time instead of being ignored. Clinical content
lives in ``rules/kb``; this module only declares its shape: the rule files here, the KB-wide
files (``sources.yaml``, ``meta.yaml``, ``valuesets/``) in :mod:`rules.kb_files`. Referential
checks (predicates, value sets, citations, test cases) are done by :mod:`rules.loader`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from rules.kb_files import (
    SEMVER_RE,
    CodeEntry,
    EvidenceLevel,
    Histology,
    Jurisdiction,
    KbMeta,
    Key,
    OverrideReason,
    Source,
    SourcesFile,
    Strict,
    Text,
    ValueSetFile,
)

#: The rule schema, and the KB-wide files' schema (:mod:`rules.kb_files`) re-exported.
__all__ = [
    "HOOKS",
    "RULE_ID_RE",
    "ActionSpec",
    "CodeEntry",
    "Criterion",
    "Day",
    "Dose",
    "DrugOption",
    "Evidence",
    "EvidenceLevel",
    "Histology",
    "Hook",
    "Indicator",
    "Jurisdiction",
    "KbMeta",
    "Lifecycle",
    "OverrideReason",
    "RegulatoryNote",
    "Review",
    "Role",
    "Rule",
    "RuleId",
    "Signoff",
    "Source",
    "SourcesFile",
    "Then",
    "ValueSetFile",
    "slug",
]

RULE_ID_RE = r"^[a-z0-9]+(-[a-z0-9]+)*$"

RuleId = Annotated[str, StringConstraints(pattern=RULE_ID_RE)]
Hook = Literal["patient-view", "order-select", "order-sign"]
HOOKS: tuple[Hook, ...] = ("patient-view", "order-select", "order-sign")
Indicator = Literal["info", "warning", "critical"]


# ---------------------------------------------------------------------------------------------
# rules/<id>.yaml


class Criterion(BaseModel):
    """One predicate call: a single-key mapping ``{predicate_name: {params}}``.

    The key ``any_of`` takes a list of criteria instead of parameters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    any_of: tuple[Criterion, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> Criterion:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ValueError(f"a criterion is a mapping with exactly one key, got {raw!r}")
        ((name, value),) = raw.items()
        if not isinstance(name, str):
            raise ValueError(f"criterion key must be a string, got {name!r}")
        if name == "any_of":
            if not isinstance(value, list) or len(value) < 2:
                raise ValueError("any_of takes a list of at least two criteria")
            return cls(name=name, any_of=tuple(cls.parse(item) for item in value))
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ValueError(f"parameters of {name!r} must be a mapping, got {value!r}")
        return cls(name=name, params=value)


class Dose(Strict):
    """Structured dose for a draft-order update (FHIR-agnostic)."""

    value: float = Field(gt=0)
    unit: Literal["mg"]
    times_per_day: int = Field(ge=1, le=4)
    days_on: int | None = Field(default=None, ge=1)
    cycle_days: int | None = Field(default=None, ge=1)
    text: Text


class DrugOption(Strict):
    drug: Key
    dose: Text
    preference: Literal["preferred", "alternative", "consider"] = "preferred"
    note: Text | None = None


class ActionSpec(Strict):
    """A suggested action. ``target: triggering-order`` is resolved to the draft order id."""

    type: Literal[
        "create-medication-request",
        "create-service-request",
        "replace-draft",
        "update-draft-dose",
        "delete-draft",
    ]
    label: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    drug: Key | None = None
    test: Key | None = None
    dose_text: Text | None = None
    dose: Dose | None = None
    recommended: bool = False

    @field_validator("label")
    @classmethod
    def _label_text(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("label has leading or trailing blanks")
        return value


class Then(Strict):
    kind: Literal["recommendation", "warning", "data-gap", "monitoring", "summary"]
    indicator: Indicator
    summary: Annotated[str, StringConstraints(min_length=10, max_length=139)]
    what: Text
    options: list[DrugOption] = Field(default_factory=list)
    actions: list[ActionSpec] = Field(default_factory=list)
    monitoring: list[Text] = Field(default_factory=list)
    contraindicated_drugs: list[Key] = Field(default_factory=list)
    drop_received_options: bool = Field(
        default=False,
        description=(
            "leave out the options (and their orders) for drugs the patient already received; "
            "the card says which, and a recommendation with no option left is not shown"
        ),
    )


class Evidence(Strict):
    level: Key
    note: Text | None = None


class RegulatoryNote(Strict):
    jurisdiction: str
    drug: Key
    status: Literal["approved", "not-approved", "off-label"]
    text: Text
    citations: list[Key] = Field(min_length=1)


#: Lifecycle of a rule: ``draft`` (never runs), ``pending-review`` (runs, if the site shows
#: unreviewed rules, and says "not yet clinically reviewed"), ``active`` (clinically signed off),
#: ``retired`` (kept for the record and for ``kb diff``; never runs).
Lifecycle = Literal["draft", "pending-review", "active", "retired"]

#: Words that name a person, a ticket or a tool rather than a role; a review record names roles.
_NOT_A_ROLE = re.compile(r"issue|ticket|#\d|\bbot\b|\bagent\b|\bllm\b|\bai\b|tool|script", re.I)
Day = date
Role = Annotated[str, StringConstraints(min_length=3, max_length=80, strip_whitespace=True)]


def _check_role(value: str) -> str:
    if _NOT_A_ROLE.search(value):
        raise ValueError(f"name a role (e.g. 'sarcoma oncologist'), not {value!r}")
    return value


class Review(Strict):
    """The last content review: who (a role), when, and what exactly was checked."""

    role: Role
    date: Day
    checked: Text

    _role = field_validator("role")(_check_role)


class Signoff(Strict):
    """Clinical sign-off by a clinician role; only an ``active`` or ``retired`` rule has one."""

    role: Role
    date: Day

    _role = field_validator("role")(_check_role)


class Rule(BaseModel):
    """One recommendation or warning, reviewed as data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    version: Annotated[str, StringConstraints(pattern=SEMVER_RE)]
    status: Lifecycle
    title: Text
    items: list[Annotated[int, Field(ge=1, le=99)]] = Field(
        min_length=1, description="issue-5 content items this rule implements"
    )
    histology: Key
    line: int | None = Field(default=None, ge=0, le=9)
    step: Literal["after-progression"] | None = Field(
        default=None,
        description=(
            "where the advice sits within its line of therapy: after-progression is a change "
            "made on progression during `line` before moving to the next line (e.g. a dose "
            "escalation), drawn between that line and the next, not as a line of its own"
        ),
    )
    setting: Literal["advanced"] | None = Field(
        default=None,
        description=(
            "advanced: advice for advanced or unresectable disease only; silent for localized "
            "or resected disease, hedged (no recommended order) when the extent is not recorded"
        ),
    )
    hooks: list[Hook] = Field(min_length=1)
    when: list[Criterion] = Field(min_length=1)
    unless: list[Criterion] = Field(default_factory=list)
    then: Then
    evidence: Evidence
    citations: list[Key] = Field(default_factory=list)
    regulatory: list[RegulatoryNote] = Field(default_factory=list)
    review: Review
    signoff: Signoff | None = None

    @model_validator(mode="after")
    def _signoff_matches_status(self) -> Rule:
        if self.status == "active" and self.signoff is None:
            raise ValueError("an active rule needs a clinical signoff; use pending-review")
        if self.status in {"draft", "pending-review"} and self.signoff is not None:
            raise ValueError(f"a signed-off rule cannot be {self.status}")
        return self

    @model_validator(mode="after")
    def _step_follows_a_line(self) -> Rule:
        if self.step is not None and (self.line is None or self.line < 1):
            raise ValueError(f"step {self.step} needs the line of therapy it follows (line >= 1)")
        return self

    @property
    def clinically_reviewed(self) -> bool:
        return self.signoff is not None

    @property
    def runnable(self) -> bool:
        """Whether the engine may run the rule at all (drafts and retired rules never run)."""
        return self.status in {"active", "pending-review"}

    @field_validator("when", "unless", mode="before")
    @classmethod
    def _parse_criteria(cls, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("criteria are a list")
        return [item if isinstance(item, Criterion) else Criterion.parse(item) for item in value]

    @field_validator("hooks")
    @classmethod
    def _unique_hooks(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("hooks are listed twice")
        return value


def slug(text: str) -> str:
    """A lowercase, hyphenated form of ``text`` (for anchors in the rendered KB)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


KbMeta.model_rebuild()
