"""Renal impairment stated by a Condition: chronic kidney disease stage 3 to 5, end-stage renal
disease, dependence on dialysis.

A CKD stage is an eGFR category (KDIGO G3a 45-59, G3b 30-44, G4 15-29, G5 below 15
mL/min/1.73 m2); it is read as that band and never as a creatinine clearance. Codes (verified,
see ``rules/kb/CHANGELOG.md`` 1.15.0):

* SNOMED CT: 433144002 CKD stage 3, 700378005 stage 3A, 700379002 stage 3B, 431857002 stage 4,
  433146000 stage 5, 714152005 stage 5 on dialysis, 46177005 end-stage renal disease.
* ICD-10-CM: N18.3 (stage 3, before its 2020 split), N18.30 stage 3 unspecified, N18.31 stage
  3a, N18.32 stage 3b, N18.4 stage 4, N18.5 stage 5, N18.6 end stage renal disease, Z99.2
  dependence on renal dialysis. Sent with or without the dot.

Hepatic impairment Conditions are not read: no Child-Pugh class code could be verified, and
cirrhosis alone names none of the labels' categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from fhir_mapping.codes import (
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
    ICD10CM,
    SNOMED,
    as_dict,
    as_list,
    concept_text,
    normalise_system,
    reference_of,
)
from fhir_mapping.conditions import status_code
from fhir_mapping.dates import parse_date
from rules.populations import RenalImpairmentRecord


class Stage(NamedTuple):
    text: str
    egfr_from: int
    egfr_below: int | None
    dialysis: bool


_STAGE_3 = Stage("Chronic kidney disease stage 3", 30, 60, False)
_STAGE_3A = Stage("Chronic kidney disease stage 3a", 45, 60, False)
_STAGE_3B = Stage("Chronic kidney disease stage 3b", 30, 45, False)
_STAGE_4 = Stage("Chronic kidney disease stage 4", 15, 30, False)
_STAGE_5 = Stage("Chronic kidney disease stage 5", 0, 15, False)
_ESRD = Stage("End-stage renal disease", 0, 15, False)
_DIALYSIS = Stage("Dependence on renal dialysis", 0, 15, True)

#: (system, code) -> stage. ICD-10-CM codes are kept without their dot.
RENAL_STAGES: dict[tuple[str, str], Stage] = {
    (SNOMED, "433144002"): _STAGE_3,
    (SNOMED, "700378005"): _STAGE_3A,
    (SNOMED, "700379002"): _STAGE_3B,
    (SNOMED, "431857002"): _STAGE_4,
    (SNOMED, "433146000"): _STAGE_5,
    (SNOMED, "714152005"): Stage("Chronic kidney disease stage 5 on dialysis", 0, 15, True),
    (SNOMED, "46177005"): _ESRD,
    (ICD10CM, "N183"): _STAGE_3,
    (ICD10CM, "N1830"): _STAGE_3,
    (ICD10CM, "N1831"): _STAGE_3A,
    (ICD10CM, "N1832"): _STAGE_3B,
    (ICD10CM, "N184"): _STAGE_4,
    (ICD10CM, "N185"): _STAGE_5,
    (ICD10CM, "N186"): _ESRD,
    (ICD10CM, "Z992"): _DIALYSIS,
}
_CODES = frozenset(code for _, code in RENAL_STAGES)
_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_ENDED_CLINICAL = frozenset({"inactive", "resolved", "remission"})


def renal_stage(raw: Mapping[str, Any]) -> Stage | None:
    """The most severe stage the Condition's codes state (cheap: no validation), else None."""
    found: list[Stage] = []
    for coding in as_list(as_dict(raw.get("code")).get("coding")):
        if not isinstance(coding, Mapping):
            continue
        value, system = coding.get("code"), coding.get("system")
        if not isinstance(value, str) or not isinstance(system, str):
            continue
        key = value.strip().replace(".", "").upper() if system.endswith("icd-10-cm") else value
        key = key.strip()
        if key not in _CODES:
            continue
        stage = RENAL_STAGES.get((normalise_system(system), key))
        if stage is not None:
            found.append(stage)
    if not found:
        return None
    return min(found, key=lambda s: (s.egfr_from, not s.dialysis))


def is_current(raw: Mapping[str, Any]) -> bool:
    """Not refuted or entered in error, not inactive, resolved or in remission, not abated."""
    if status_code(raw.get("verificationStatus"), CONDITION_VER_STATUS) in _IGNORED_VERIFICATION:
        return False
    if status_code(raw.get("clinicalStatus"), CONDITION_CLINICAL) in _ENDED_CLINICAL:
        return False
    return not (raw.get("abatementDateTime") or raw.get("abatementPeriod"))


def map_renal_condition(raw: Mapping[str, Any]) -> RenalImpairmentRecord | None:
    """A current renal-impairment Condition as its eGFR band; None when it is not current."""
    stage = renal_stage(raw)
    if stage is None or not is_current(raw):
        return None
    date = (
        parse_date(raw.get("onsetDateTime"))
        or parse_date(as_dict(raw.get("onsetPeriod")).get("start"))
        or parse_date(raw.get("recordedDate"))
    )
    text = concept_text(raw.get("code")) or stage.text
    return RenalImpairmentRecord(
        text=text[:120],
        egfr_from=stage.egfr_from,
        egfr_below=stage.egfr_below,
        dialysis=stage.dialysis,
        source_ref=reference_of(raw),
        date=date,
    )
