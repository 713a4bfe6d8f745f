"""The engine's output contract, consumed by ``cds_hooks.cards``.

Everything here is FHIR-agnostic: a suggested action names a drug or a test with its verified
codes, and a draft order by its id; the card layer turns that into FHIR resources. Built with
:func:`rules.frozen.fast_init` (every finding of every call is one of these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.frozen import fast_init
from rules.knowledge import Source

ActionType = Literal[
    "create-medication-request",
    "create-service-request",
    "replace-draft",
    "update-draft-dose",
    "delete-draft",
]
Kind = Literal["recommendation", "warning", "data-gap", "monitoring", "summary"]


@fast_init
@dataclass(frozen=True, slots=True)
class CodeRef:
    system: str
    code: str
    display: str


@fast_init
@dataclass(frozen=True, slots=True)
class Finding:
    """One patient fact that made a criterion true, with the FHIR reference it came from."""

    text: str
    source_ref: str | None = None
    order_id: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class DrugRef:
    """A drug from the KB catalogue: its id, display and only verified codes."""

    id: str
    display: str
    codes: tuple[CodeRef, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class TestRef:
    id: str
    display: str
    codes: tuple[CodeRef, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class DoseSpec:
    value: float
    unit: str
    times_per_day: int
    text: str
    days_on: int | None = None
    cycle_days: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class TherapyOption:
    drug: DrugRef
    dose: str
    preference: str
    note: str | None


@fast_init
@dataclass(frozen=True, slots=True)
class SuggestedAction:
    type: ActionType
    label: str
    drug: DrugRef | None = None
    test: TestRef | None = None
    dose_text: str | None = None
    dose: DoseSpec | None = None
    target_order_id: str | None = None
    recommended: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class RegulatoryStatement:
    jurisdiction: str
    regulator: str
    drug: DrugRef
    status: str
    text: str
    citations: tuple[Source, ...]
    applies_here: bool


@fast_init
@dataclass(frozen=True, slots=True)
class Recommendation:
    """One fired rule: what to do, why (findings), on what evidence (level, citations)."""

    rule_id: str
    rule_version: str
    kind: Kind
    indicator: Literal["info", "warning", "critical"]
    title: str
    summary: str
    what: str
    histology: str
    line: int | None
    findings: tuple[Finding, ...]
    evidence_level: str
    evidence_label: str
    evidence_note: str | None
    citations: tuple[Source, ...]
    options: tuple[TherapyOption, ...] = ()
    actions: tuple[SuggestedAction, ...] = ()
    monitoring: tuple[str, ...] = ()
    contraindicated: tuple[DrugRef, ...] = ()
    regulatory: tuple[RegulatoryStatement, ...] = ()
    order_ids: tuple[str, ...] = ()
    reviewed_on: str = ""
    reviewed_by: str = ""
    #: False until a clinician role has signed the rule off; the card then says so.
    clinically_reviewed: bool = False
    override_reasons: tuple[CodeRef, ...] = ()
    #: For advanced-disease rules: False when the extent of disease is not recorded (the card
    #: then says "for advanced or unresectable disease" and recommends no order).
    setting_confirmed: bool = True

    @property
    def review_line(self) -> str:
        """One honest line on the rule's review state, for cards, the timeline and documents."""
        if self.clinically_reviewed:
            return f"clinically reviewed by {self.reviewed_by}, {self.reviewed_on}"
        if not self.reviewed_by:
            return "not yet clinically reviewed"
        checked = f"content checked by {self.reviewed_by}, {self.reviewed_on}"
        return f"not yet clinically reviewed ({checked})"

    @property
    def why(self) -> tuple[Finding, ...]:
        return self.findings

    @property
    def primary_citation(self) -> Source:
        return self.citations[0]
