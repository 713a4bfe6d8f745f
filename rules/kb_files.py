"""Knowledge-base schema of the KB-wide files: ``sources.yaml`` (citable sources),
``meta.yaml`` (evidence scale, jurisdictions, histologies, site switches) and
``valuesets/<id>.yaml`` (code lists), with the strict base model and field types the rule
schema (:mod:`rules.knowledge`) shares. Unknown keys are forbidden, as for rules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SEMVER_RE = r"^\d+\.\d+\.\d+$"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([-.][a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------
# sources.yaml


class Source(Strict):
    """One citable source. ``url`` is absolute; ``doi`` is the bare DOI (no resolver prefix)."""

    key: Key
    title: Text
    publisher: Text
    year: int = Field(ge=1900, le=2100)
    kind: Literal[
        "regulatory-label",
        "label-copy",
        "guideline",
        "guideline-summary",
        "randomised-trial",
        "single-arm-trial",
        "meta-analysis",
        "review",
        "case-report",
        "cohort-study",
        "laboratory-test-description",
        "terminology",
    ]
    authors: Text | None = None
    citation: Text | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None
    doi: Annotated[str, StringConstraints(pattern=r"^10\.\d{4,9}/\S+$")] | None = None
    note: Text | None = None

    @property
    def link(self) -> str | None:
        """The absolute address of the source: its URL, else its DOI resolver address."""
        if self.url:
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return None


class SourcesFile(Strict):
    sources: list[Source] = Field(min_length=1)


# ---------------------------------------------------------------------------------------------
# meta.yaml


class EvidenceLevel(Strict):
    id: Key
    label: Text


class Jurisdiction(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}$")]
    regulator: Text


class Histology(Strict):
    id: Key
    label: Text
    order: int = Field(ge=0)


class KbMeta(Strict):
    """KB-wide settings: the ordered evidence scale (strongest first) and site switches."""

    kb_id: Key
    version: Annotated[str, StringConstraints(pattern=SEMVER_RE)]
    title: Text
    evidence_levels: list[EvidenceLevel] = Field(min_length=2)
    jurisdictions: list[Jurisdiction] = Field(min_length=1)
    jurisdiction: str
    unapproved_drug_presentation: Literal["annotate", "suppress"]
    mapping_issue_policy: Literal["annotate"]
    #: Site switch: ``show`` runs pending-review rules (their cards say "not yet clinically
    #: reviewed"); ``hide`` runs only clinically signed-off (active) rules.
    unreviewed_rules: Literal["show", "hide"] = "show"
    override_reasons: list[OverrideReason] = Field(min_length=1)
    histologies: list[Histology] = Field(min_length=1)

    def level_rank(self, level: str) -> int:
        """Position of ``level`` on the scale: 0 is the strongest evidence."""
        for index, item in enumerate(self.evidence_levels):
            if item.id == level:
                return index
        raise KeyError(level)

    def level_label(self, level: str) -> str:
        return self.evidence_levels[self.level_rank(level)].label

    def histology_label(self, histology: str) -> str:
        for item in self.histologies:
            if item.id == histology:
                return item.label
        raise KeyError(histology)

    def regulator(self, jurisdiction: str) -> str:
        for item in self.jurisdictions:
            if item.id == jurisdiction:
                return item.regulator
        raise KeyError(jurisdiction)


class OverrideReason(Strict):
    code: Key
    display: Text


# ---------------------------------------------------------------------------------------------
# valuesets/<id>.yaml


class CodeEntry(Strict):
    system: Annotated[str, StringConstraints(pattern=r"^(https?://|urn:)\S+$")]
    code: Text
    display: Text


class ValueSetFile(Strict):
    """A code list. ``kind: drug`` sets also name the ordering display; ``test`` sets a test."""

    id: Key
    version: Annotated[str, StringConstraints(pattern=SEMVER_RE)]
    kind: Literal["drug", "drug-group", "diagnosis", "gene", "variant", "test", "other"]
    title: Text
    display: Text | None = None
    sources: list[Key] = Field(min_length=1)
    codes: list[CodeEntry] = Field(default_factory=list)
    names: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9 +/.\-]*$")]] = Field(
        default_factory=list
    )
    includes: list[Key] = Field(default_factory=list)
    note: Text | None = None
