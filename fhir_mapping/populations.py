"""Special populations: pregnancy status and organ-function laboratory results.

Read here (codes verified, see ``rules/kb/CHANGELOG.md`` 1.12.0):

* Pregnancy: a Condition coded SNOMED 77386006 "Pregnant" (60001007 "Not pregnant" reads as
  a negative record), or an Observation coded LOINC 82810-3 "Pregnancy status" whose value is
  the LOINC answer LA15173-0 "Pregnant" / LA26683-5 "Not pregnant" (or the SNOMED
  equivalents 77386006 / 60001007 of the IPS concept map). A value with no code is matched by
  its exact text ("pregnant", "not pregnant"). LA4489-6 "Unknown" says nothing. A Condition
  that is refuted, entered-in-error, inactive, resolved or abated is a pregnancy that is not
  current and is not read.
* Laboratory results: LOINC 1975-2 total bilirubin, 1742-6 ALT, 1920-8 AST (serum or
  plasma), 2164-2 measured 24-hour creatinine clearance and 35591-7 creatinine clearance
  predicted by Cockcroft-Gault. The upper limit of normal is the Observation's own
  ``referenceRange.high``; none is ever assumed (a missing one is reported for total bilirubin,
  the only result whose ULN a rule reads).
* eGFR: LOINC 98979-8 (CKD-EPI 2021), 62238-1 (CKD-EPI) and 33914-3 (MDRD), in mL/min/1.73 m2,
  read as context for the renal cards only: the labels' renal bands are creatinine clearance,
  and no dose is read from an eGFR. (48642-3 and 48643-1 are left out: their names could not
  be verified.)

Only final, amended or corrected Observations are read; anything else becomes a mapping issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fhir_mapping.codes import (
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
    LOINC,
    SNOMED,
    as_decimal,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    has_code,
    normalise_system,
    reference_of,
)
from fhir_mapping.conditions import status_code
from fhir_mapping.dates import effective_date, parse_date
from fhir_mapping.issues import MappingIssue
from rules.populations import LabKind, LabResult, PregnancyRecord, PregnancyStatus

LNC_PREGNANCY_STATUS = "82810-3"
KIND_PREGNANCY = "pregnancy"
LA_PREGNANT = "LA15173-0"
LA_NOT_PREGNANT = "LA26683-5"
SCT_PREGNANT = "77386006"
SCT_NOT_PREGNANT = "60001007"

LAB_CODES = {
    "1975-2": LabKind.BILIRUBIN_TOTAL,
    "1742-6": LabKind.ALT,
    "1920-8": LabKind.AST,
    "2164-2": LabKind.CREATININE_CLEARANCE,
    "35591-7": LabKind.CREATININE_CLEARANCE,
    "98979-8": LabKind.EGFR,  # GFR/1.73 sq M predicted, creatinine-based (CKD-EPI 2021)
    "62238-1": LabKind.EGFR,  # GFR/1.73 sq M predicted, creatinine-based (CKD-EPI)
    "33914-3": LabKind.EGFR,  # GFR/1.73 sq M predicted by MDRD (deprecated, still sent)
}
#: Units read per kind (UCUM codes or the usual unit text), lower-cased.
_UNITS = {
    LabKind.BILIRUBIN_TOTAL: {"mg/dl": "mg/dL", "umol/l": "umol/L", "µmol/l": "umol/L"},
    LabKind.ALT: {"u/l": "U/L", "iu/l": "U/L", "[iu]/l": "U/L"},
    LabKind.AST: {"u/l": "U/L", "iu/l": "U/L", "[iu]/l": "U/L"},
    LabKind.CREATININE_CLEARANCE: {"ml/min": "mL/min"},
    LabKind.EGFR: {
        "ml/min/{1.73_m2}": "mL/min/1.73 m2",
        "ml/min/1.73m2": "mL/min/1.73 m2",
        "ml/min/1.73 m2": "mL/min/1.73 m2",
        "ml/min/1.73m²": "mL/min/1.73 m2",
        "ml/min/1.73 m²": "mL/min/1.73 m2",
    },
}
#: Results whose reference range is read (multiples of the upper limit of normal).
_ULN_READ = frozenset({LabKind.BILIRUBIN_TOTAL, LabKind.ALT, LabKind.AST})
_READ_STATUSES = frozenset({"final", "amended", "corrected"})
_ENDED_CLINICAL = frozenset({"inactive", "resolved", "remission"})


_KINDS = {LNC_PREGNANCY_STATUS: KIND_PREGNANCY, **{c: k.value for c, k in LAB_CODES.items()}}


def observation_kinds() -> dict[str, str]:
    """Observation code -> the kind :func:`kind` answers for it (with a LOINC system)."""
    return dict(_KINDS)


def kind(raw: Mapping[str, Any]) -> str | None:
    """``pregnancy`` or a :class:`LabKind` value for an Observation this module reads.

    Called once per Observation in the prefetch: one pass over the codings, a dict lookup
    per code, the system normalised only on a hit.
    """
    for coding in as_list(as_dict(raw.get("code")).get("coding")):
        if not isinstance(coding, Mapping):
            continue
        value = coding.get("code")
        if not isinstance(value, str):
            continue
        found = _KINDS.get(value.strip())
        system = coding.get("system")
        if found is not None and isinstance(system, str) and normalise_system(system) == LOINC:
            return found
    return None


def pregnancy_condition_status(raw: Mapping[str, Any]) -> PregnancyStatus | None:
    concept = raw.get("code")
    if has_code(concept, SNOMED, SCT_PREGNANT):
        return PregnancyStatus.PREGNANT
    if has_code(concept, SNOMED, SCT_NOT_PREGNANT):
        return PregnancyStatus.NOT_PREGNANT
    return None


def map_pregnancy_condition(
    raw: Mapping[str, Any],
) -> tuple[PregnancyRecord | None, list[MappingIssue]]:
    """A current pregnancy (or not-pregnant) Condition; ended or refuted ones read as nothing."""
    status = pregnancy_condition_status(raw)
    if status is None:
        return None, []
    if status_code(raw.get("verificationStatus"), CONDITION_VER_STATUS) in {
        "refuted",
        "entered-in-error",
    }:
        return None, []
    clinical = status_code(raw.get("clinicalStatus"), CONDITION_CLINICAL)
    if clinical in _ENDED_CLINICAL or raw.get("abatementDateTime") or raw.get("abatementPeriod"):
        return None, []
    date = (
        parse_date(raw.get("onsetDateTime"))
        or parse_date(as_dict(raw.get("onsetPeriod")).get("start"))
        or parse_date(raw.get("recordedDate"))
    )
    text = concept_text(raw.get("code")) or (
        "Pregnant" if status is PregnancyStatus.PREGNANT else "Not pregnant"
    )
    return PregnancyRecord(status, reference_of(raw), "condition", text, date), []


def _answer(value: Any) -> PregnancyStatus | None:
    for code in concept_codes(value):
        if (code.system, code.code) in {(LOINC, LA_PREGNANT), (SNOMED, SCT_PREGNANT)}:
            return PregnancyStatus.PREGNANT
        if (code.system, code.code) in {(LOINC, LA_NOT_PREGNANT), (SNOMED, SCT_NOT_PREGNANT)}:
            return PregnancyStatus.NOT_PREGNANT
    text = (concept_text(value) or "").strip().lower()
    if not any(True for _ in concept_codes(value)):
        if text == "pregnant":
            return PregnancyStatus.PREGNANT
        if text == "not pregnant":
            return PregnancyStatus.NOT_PREGNANT
    return None


def _status_issue(raw: Mapping[str, Any], what: str) -> MappingIssue | None:
    status = as_str(raw.get("status"))
    if status in _READ_STATUSES:
        return None
    return MappingIssue(
        "unread-status",
        reference_of(raw),
        f"{what} with status {status or '(none)'} (not final, amended or corrected); not read",
    )


def map_pregnancy_observation(
    raw: Mapping[str, Any],
) -> tuple[PregnancyRecord | None, list[MappingIssue]]:
    ref = reference_of(raw)
    issue = _status_issue(raw, "pregnancy status")
    if issue is not None:
        return None, [] if raw.get("status") == "entered-in-error" else [issue]
    status = _answer(raw.get("valueCodeableConcept"))
    if status is None:
        return None, []
    date = effective_date(raw)
    if date is None:
        return None, [
            MappingIssue(
                "missing-date",
                ref,
                "pregnancy status without an effective date: its currency cannot be judged; "
                "not read",
            )
        ]
    text = "Pregnant" if status is PregnancyStatus.PREGNANT else "Not pregnant"
    return PregnancyRecord(status, ref, "observation", f"Pregnancy status: {text}", date), []


def _decimal(value: Any) -> Decimal | None:
    number = as_decimal(value)
    return number if number is not None and number >= 0 else None


def _unit(quantity: Mapping[str, Any], lab: LabKind) -> str | None:
    for key in ("code", "unit"):
        text = as_str(quantity.get(key))
        if text is not None:
            unit = _UNITS[lab].get(text.strip().lower())
            if unit is not None:
                return unit
    return None


def map_lab(raw: Mapping[str, Any], lab: LabKind) -> tuple[LabResult | None, list[MappingIssue]]:
    ref = reference_of(raw)
    issue = _status_issue(raw, "laboratory result")
    if issue is not None:
        return None, [] if raw.get("status") == "entered-in-error" else [issue]
    quantity = as_dict(raw.get("valueQuantity"))
    value = _decimal(quantity.get("value"))
    unit = _unit(quantity, lab)
    if value is None or unit is None:
        return None, [
            MappingIssue(
                "unmapped-value",
                ref,
                "laboratory result without a numeric value in a unit this service reads; not read",
            )
        ]
    date = effective_date(raw)
    issues: list[MappingIssue] = []
    if date is None:
        issues.append(
            MappingIssue("missing-date", ref, "laboratory result without a date; not read")
        )
        return None, issues
    uln: Decimal | None = None
    if lab in _ULN_READ:
        for item in as_list(raw.get("referenceRange")):
            high = as_dict(as_dict(item).get("high"))
            number = _decimal(high.get("value"))
            high_unit = _unit(high, lab) if (high.get("code") or high.get("unit")) else unit
            if number is not None and high_unit == unit:
                uln = number
                break
        if uln is None and lab is LabKind.BILIRUBIN_TOTAL:
            # Only the bilirubin ULN is read (hepatic categories); a missing ALT/AST range
            # changes no card and would crowd the card's data-quality line for nothing.
            issues.append(
                MappingIssue(
                    "missing-reference-range",
                    ref,
                    "no upper limit of normal (referenceRange.high) in the result's unit: "
                    "multiples of the upper limit are not derived",
                )
            )
    return LabResult(lab, value, unit, ref, date, uln), issues
