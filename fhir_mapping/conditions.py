"""Condition (and HistologicBehaviorAndType Observation) -> Diagnosis.

Entered-in-error and refuted conditions are ignored; inactive and resolved ones are kept as
history. The clinical/verification status rules live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fhir_mapping import histology
from fhir_mapping.codes import (
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
    ICD10CM,
    ICDO3,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    first_code,
    normalise_system,
    reference_of,
)
from fhir_mapping.dates import effective_date, parse_date, period_start
from fhir_mapping.issues import MappingIssue
from rules.frozen import builder, expect_fields
from rules.patient import (
    ClinicalStatus,
    Code,
    Confidence,
    Diagnosis,
    VerificationStatus,
)

LNC_HISTOLOGY_OBSERVATION = "31206-6"

_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_CLINICAL = {member.value: member for member in ClinicalStatus}
_VERIFICATION = {member.value: member for member in VerificationStatus}
_CLINICAL_UNKNOWN, _VERIFICATION_UNKNOWN = (
    ClinicalStatus.UNKNOWN,
    VerificationStatus.UNKNOWN,
)
#: The diagnosis of a Condition is built positionally (rules.frozen.builder), in this field
#: order, checked here at import so that a field added or moved fails loudly.
_DIAGNOSIS_FIELDS = (
    "histology",
    "code",
    "source_ref",
    "subtype",
    "site",
    "clinical_status",
    "verification_status",
    "onset",
    "recorded",
    "stage",
    "metastatic",
    "confidence",
    "behaviour",
)
expect_fields(Diagnosis, _DIAGNOSIS_FIELDS, "conditions.map_condition")
_build_diagnosis = builder(Diagnosis)


def _histology_extension_concepts(resource: Mapping[str, Any]) -> Iterator[Any]:
    """valueCodeableConcept of histology-morphology-behavior style extensions."""
    for ext in as_list(resource.get("extension")):
        ext_map = as_dict(ext)
        url = (as_str(ext_map.get("url")) or "").lower()
        if "histology" in url or "morphology" in url:
            yield ext_map.get("valueCodeableConcept")


def _all_codes(resource: Mapping[str, Any]) -> list[Code]:
    codes = list(concept_codes(resource.get("code")))
    for concept in _histology_extension_concepts(resource):
        codes.extend(concept_codes(concept))
    return codes


def _texts(resource: Mapping[str, Any]) -> list[str]:
    texts = [concept_text(resource.get("code"))]
    texts.extend(concept_text(c) for c in _histology_extension_concepts(resource))
    return [t for t in texts if t]


def is_candidate(raw: Mapping[str, Any]) -> bool:
    """Cheap pre-filter on the raw Condition: could it be a sarcoma diagnosis?"""
    for code in _all_codes(raw):
        if code.system in (ICDO3, SNOMED, ICD10CM) and (
            histology.from_code(code) is not None or code.system == ICDO3
        ):
            return True
    return any(histology.hints_sarcoma(t) for t in _texts(raw))


def status_code(concept: Any, system: str) -> str | None:
    """The code of a Condition status concept (clinicalStatus, verificationStatus): the coding
    of ``system``, else a bare code (some senders omit the system); None when there is none.

    One pass over the codings of a plain JSON concept, without a :class:`Code` per coding;
    any other shape is read by :func:`status_code_of_codes` (the same answer:
    ``tests/fhir_mapping/test_condition_codes.py``)."""
    if type(concept) is not dict:
        return status_code_of_codes(concept, system)
    items = concept.get("coding")
    if not isinstance(items, list):
        return None
    bare: str | None = None
    for coding in items:
        if type(coding) is not dict:
            return status_code_of_codes(concept, system)
        value = coding.get("code")
        if not isinstance(value, str) or not (stripped := value.strip()):
            continue
        if bare is None:
            bare = value
        raw_system = coding.get("system")
        if (
            isinstance(raw_system, str)
            and raw_system.strip()
            and normalise_system(raw_system) == system
        ):
            return stripped
    return bare


def status_code_of_codes(concept: Any, system: str) -> str | None:
    """:func:`status_code` for a concept of any shape, read through :func:`first_code`."""
    code = first_code(concept, system)
    if code is not None:
        return code.code
    # Some senders omit the system; accept a bare code of the right value set.
    for coding in as_list(as_dict(concept).get("coding")):
        value = as_str(as_dict(coding).get("code"))
        if value:
            return value
    return None


def site_texts(resource: Mapping[str, Any]) -> list[str]:
    """The wording of the code and of each body site (for the primary site of a GIST)."""
    texts = [concept_text(resource.get("code")) or ""]
    for body_site in as_list(resource.get("bodySite")):
        texts.append(concept_text(body_site) or "")
        texts.extend(c.display or "" for c in concept_codes(body_site))
    return [t for t in texts if t]


def is_refuted(resource: Mapping[str, Any]) -> bool:
    """Refuted or entered-in-error: never read (neither as diagnosis nor as extent)."""
    verification = status_code(resource.get("verificationStatus"), CONDITION_VER_STATUS)
    return verification in _IGNORED_VERIFICATION


def map_condition(
    resource: Mapping[str, Any],
) -> tuple[Diagnosis | None, list[MappingIssue]]:
    ref = reference_of(resource)
    issues: list[MappingIssue] = []
    verification_code = status_code(resource.get("verificationStatus"), CONDITION_VER_STATUS)
    if verification_code in _IGNORED_VERIFICATION:
        return None, []
    clinical_code = status_code(resource.get("clinicalStatus"), CONDITION_CLINICAL)

    finding, finding_issues = _histology_of(resource, ref)
    issues.extend(finding_issues)
    if finding is None:
        return None, issues

    stage = None
    for stage_entry in as_list(resource.get("stage")):
        stage = next(concept_codes(as_dict(stage_entry).get("summary")), None)
        if stage is not None:
            break
    profiles = [p for p in as_list(as_dict(resource.get("meta")).get("profile")) if as_str(p)]
    metastatic: bool | None = None
    if finding.behaviour == "6" or any("secondary-cancer-condition" in p for p in profiles):
        metastatic = True
    onset = parse_date(resource.get("onsetDateTime")) or period_start(resource.get("onsetPeriod"))
    site = None
    for body_site in as_list(resource.get("bodySite")):
        site = next(concept_codes(body_site), None)
        if site is not None:
            break
    # (ClinicalStatus(code), VerificationStatus(code) and their ValueError, as dict look-ups)
    clinical = (
        _CLINICAL.get(clinical_code, _CLINICAL_UNKNOWN) if clinical_code else _CLINICAL_UNKNOWN
    )
    verification = (
        _VERIFICATION.get(verification_code, _VERIFICATION_UNKNOWN)
        if verification_code
        else _VERIFICATION_UNKNOWN
    )
    # Positional, in the field order checked at import (_DIAGNOSIS_FIELDS).
    diagnosis = _build_diagnosis(
        finding.histology,
        finding.code,
        ref,
        finding.subtype,
        site,
        clinical,
        verification,
        onset,
        parse_date(resource.get("recordedDate")),
        stage,
        metastatic,
        finding.confidence,
        finding.behaviour,
    )
    return diagnosis, issues


def _histology_of(
    resource: Mapping[str, Any], ref: str
) -> tuple[histology.HistologyFinding | None, list[MappingIssue]]:
    issues: list[MappingIssue] = []
    codes = _all_codes(resource)
    for bad in histology.unparseable_icdo3(codes):
        issues.append(
            MappingIssue(
                "unparseable-code",
                ref,
                f"ICD-O-3 code {bad.code!r} is not a valid morphology code; ignored",
            )
        )
    findings = [f for f in (histology.from_code(c) for c in codes) if f is not None]
    best, conflict = histology.choose(findings)
    if conflict and best is not None:
        named = sorted({f.histology.value for f in findings if f.histology.specificity == 2})
        issues.append(
            MappingIssue(
                "conflicting-histology",
                ref,
                f"codes disagree on histology ({', '.join(named)}); used {best.histology.value} "
                f"from {best.code.system}",
            )
        )
    if best is not None:
        return best, issues
    for text in _texts(resource):
        found = histology.from_text(text)
        if found is not None:
            issues.append(
                MappingIssue(
                    "text-derived-finding",
                    ref,
                    f"histology {found[0].value} read from free text only (low confidence)",
                )
            )
            text_code = next(iter(codes), None) or Code("text", "text")
            return (
                histology.HistologyFinding(found[0], found[1], text_code, Confidence.TEXT_DERIVED),
                issues,
            )
    return None, issues


def is_histology_observation(raw: Mapping[str, Any]) -> bool:
    return any(
        c.code == LNC_HISTOLOGY_OBSERVATION for c in concept_codes(raw.get("code"))
    ) and bool(raw.get("valueCodeableConcept"))


def map_histology_observation(
    resource: Mapping[str, Any],
) -> tuple[Diagnosis | None, list[MappingIssue]]:
    """mCODE HistologicBehaviorAndType (LOINC 31206-6) -> Diagnosis sourced from the Observation."""
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return None, []
    concept = resource.get("valueCodeableConcept")
    codes = list(concept_codes(concept))
    issues = [
        MappingIssue(
            "unparseable-code",
            ref,
            f"ICD-O-3 code {bad.code!r} is not a valid morphology code; ignored",
        )
        for bad in histology.unparseable_icdo3(codes)
    ]
    best, conflict = histology.choose(
        [f for f in (histology.from_code(c) for c in codes) if f is not None]
    )
    if best is None:
        return None, issues
    if conflict:
        issues.append(MappingIssue("conflicting-histology", ref, "codes disagree on histology"))
    return (
        Diagnosis(
            histology=best.histology,
            subtype=best.subtype,
            code=best.code,
            source_ref=ref,
            recorded=effective_date(resource),
            metastatic=True if best.behaviour == "6" else None,
            behaviour=best.behaviour,
        ),
        issues,
    )
