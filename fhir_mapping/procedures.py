"""Cancer-directed surgical resections (Procedure, mCODE CancerRelatedSurgicalProcedure) and their
residual-tumour classification -> :class:`rules.extent.Resection`.

A Procedure is a resection of the cancer when it is completed, is a resection by its code or
wording (not a biopsy), and is tied to the cancer: the mCODE profile, a ``reasonReference`` to a
mapped sarcoma diagnosis, or a sarcoma ``reasonCode``. The residual tumour (R0/R1/R2) is read
where it is coded: on the Procedure (``outcome``, an extension), or on a residual-tumour
Observation (SNOMED CT 17964000) that points at the Procedure or has the same date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fhir_mapping import histology
from fhir_mapping.codes import (
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    reference_of,
)
from fhir_mapping.dates import effective_date, parse_date, period_end, period_start
from fhir_mapping.issues import MappingIssue
from rules.extent import Resection, ResidualTumour
from rules.patient import Code, PartialDate

#: AJCC residual tumour allowable values (SNOMED CT descendants of 1222601005, mCODE STU4
#: VS_Staging.fsh); the R0/R1/R2 concept ids as used in public FHIR questionnaires and examples.
RESIDUAL_CODES = {
    "1222638005": ResidualTumour.R0,
    "1222639002": ResidualTumour.R1,
    "1222640000": ResidualTumour.R2,
}
#: "Residual tumor stage (observable entity)" (mCODE STU4 CancerStageTypeVS, VS_Staging.fsh).
SCT_RESIDUAL_TUMOUR_STAGE = "17964000"
MCODE_SURGERY_PROFILE = "mcode-cancer-related-surgical-procedure"

_RESECTION = re.compile(
    r"resection|excision|\w+ectomy\b|exenteration|amputation|compartmentectomy", re.IGNORECASE
)
_NOT_RESECTION = re.compile(r"biops|aspiration|endoscop(?!ic resection)|port\b", re.IGNORECASE)
_R_TEXT = re.compile(r"(?<![A-Za-z0-9])R([012])(?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A completed resection, before it is tied to a sarcoma diagnosis."""

    resection: Resection
    reason_refs: tuple[str, ...]
    by_profile: bool
    sarcoma_reason_code: bool


def _residual(concepts: list[Any]) -> tuple[ResidualTumour | None, Code | None]:
    for concept in concepts:
        for code in concept_codes(concept):
            if code.system == SNOMED and code.code in RESIDUAL_CODES:
                return RESIDUAL_CODES[code.code], code
        texts = [concept_text(concept), *(c.display for c in concept_codes(concept))]
        texts += [c.code for c in concept_codes(concept) if c.system != SNOMED]
        for text in texts:
            match = _R_TEXT.search(text or "")
            if match is not None:
                return ResidualTumour(f"R{match.group(1)}"), next(concept_codes(concept), None)
    return None, None


def _label(resource: Mapping[str, Any]) -> str | None:
    code = resource.get("code")
    return concept_text(code) or next((c.display for c in concept_codes(code) if c.display), None)


def map_procedure(resource: Mapping[str, Any]) -> tuple[Candidate | None, list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) != "completed":
        return None, []
    label = _label(resource)
    profiles = [as_str(p) or "" for p in as_list(as_dict(resource.get("meta")).get("profile"))]
    by_profile = any(MCODE_SURGERY_PROFILE in p for p in profiles)
    excluded = label is not None and _NOT_RESECTION.search(label) is not None
    named = label is not None and _RESECTION.search(label) is not None
    if excluded or not (named or by_profile):
        return None, []
    reason_refs = tuple(
        r
        for r in (
            as_str(as_dict(x).get("reference")) for x in as_list(resource.get("reasonReference"))
        )
        if r
    )
    sarcoma_code = False
    for concept in as_list(resource.get("reasonCode")):
        if any(histology.from_code(c) is not None for c in concept_codes(concept)):
            sarcoma_code = True
        text = concept_text(concept)
        if text and histology.from_text(text) is not None:
            sarcoma_code = True
    outcome = resource.get("outcome")  # a single CodeableConcept in R4
    concepts = [outcome, *as_list(resource.get("followUp"))]
    concepts += [as_dict(e).get("valueCodeableConcept") for e in as_list(resource.get("extension"))]
    residual, _ = _residual([c for c in concepts if c])
    date: PartialDate | None = (
        parse_date(resource.get("performedDateTime"))
        or period_end(resource.get("performedPeriod"))
        or period_start(resource.get("performedPeriod"))
    )
    return (
        Candidate(
            Resection(
                source_ref=ref,
                text=label or "cancer-related surgical procedure",
                date=date,
                residual=residual,
                residual_ref=ref if residual is not None else None,
                code=next(concept_codes(resource.get("code")), None),
            ),
            reason_refs,
            by_profile,
            sarcoma_code,
        ),
        [],
    )


def is_residual_observation(raw: Mapping[str, Any]) -> bool:
    return any(
        c.system == SNOMED and c.code == SCT_RESIDUAL_TUMOUR_STAGE
        for c in concept_codes(raw.get("code"))
    )


@dataclass(frozen=True, slots=True)
class ResidualFinding:
    residual: ResidualTumour
    source_ref: str
    date: PartialDate | None
    targets: tuple[str, ...]


def map_residual_observation(
    resource: Mapping[str, Any],
) -> tuple[ResidualFinding | None, list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return None, []
    residual, _ = _residual([resource.get("valueCodeableConcept")])
    if residual is None:
        return None, [
            MappingIssue(
                "unmapped-value", ref, "residual tumour value is not R0, R1 or R2; skipped"
            )
        ]
    targets = tuple(
        r
        for r in (
            as_str(as_dict(x).get("reference"))
            for x in [*as_list(resource.get("partOf")), *as_list(resource.get("focus"))]
        )
        if r
    )
    return ResidualFinding(residual, ref, effective_date(resource), targets), []


def tie(
    candidates: list[Candidate],
    residuals: list[ResidualFinding],
    diagnosis_refs: set[str],
) -> tuple[list[Resection], list[MappingIssue]]:
    """The candidates that belong to a sarcoma diagnosis, with residual findings attached."""
    out: list[Resection] = []
    issues: list[MappingIssue] = []
    for candidate in candidates:
        resection = candidate.resection
        tied = (
            candidate.by_profile
            or candidate.sarcoma_reason_code
            or any(_same(r, diagnosis_refs) for r in candidate.reason_refs)
        )
        if not tied:
            continue
        if resection.residual is None:
            for finding in residuals:
                linked = any(t.endswith(resection.source_ref) for t in finding.targets)
                same_day = (
                    not finding.targets
                    and finding.date is not None
                    and resection.date is not None
                    and finding.date.isoformat()[:10] == resection.date.isoformat()[:10]
                )
                if linked or same_day:
                    resection = replace(
                        resection, residual=finding.residual, residual_ref=finding.source_ref
                    )
                    break
        if resection.date is None:
            issues.append(
                MappingIssue(
                    "missing-date",
                    resection.source_ref,
                    "resection without a performed date: it cannot be placed against the other "
                    "disease facts",
                )
            )
        out.append(resection)
    return out, issues


def _same(reference: str, diagnosis_refs: set[str]) -> bool:
    parts = reference.rstrip("/").split("/")
    key = "/".join(parts[-2:]) if len(parts) >= 2 else f"Condition/{reference}"
    return key in diagnosis_refs
