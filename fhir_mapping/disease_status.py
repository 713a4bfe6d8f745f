"""mCODE CancerDiseaseStatus (LOINC 97509-4) and coded response observations -> DiseaseStatus."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import (
    LNC_DISEASE_STATUS,
    LNC_TREATMENT_RESPONSE,
    LOINC,
    SCT_DISTANT_METASTASIS,
    SCT_FULL_REMISSION,
    SCT_FULL_REMISSION_QUALIFIER,
    SCT_IMPROVED,
    SCT_NO_ABNORMALITY,
    SCT_NOT_DETECTED,
    SCT_PARTIAL_REMISSION,
    SCT_PARTIAL_REMISSION_QUALIFIER,
    SCT_STABLE,
    SCT_UNDETERMINED,
    SCT_WORSENED,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    reference_of,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.issues import MappingIssue
from rules.patient import DiseaseStatus, DiseaseStatusValue

_VALUES = {
    SCT_IMPROVED: DiseaseStatusValue.IMPROVED,
    SCT_STABLE: DiseaseStatusValue.STABLE,
    SCT_WORSENED: DiseaseStatusValue.PROGRESSION,
    SCT_UNDETERMINED: DiseaseStatusValue.UNDETERMINED,
    # complete remission or nothing detected: no evidence of disease
    SCT_NOT_DETECTED: DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE,
    SCT_NO_ABNORMALITY: DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE,
    SCT_FULL_REMISSION: DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE,
    SCT_FULL_REMISSION_QUALIFIER: DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE,
    # partial remission: disease still present, improving
    SCT_PARTIAL_REMISSION: DiseaseStatusValue.IMPROVED,
    SCT_PARTIAL_REMISSION_QUALIFIER: DiseaseStatusValue.IMPROVED,
    SCT_DISTANT_METASTASIS: DiseaseStatusValue.DISTANT_METASTASIS,
}
#: Words that call a progression limited (local treatment of the growing lesion, systemic
#: therapy continued); words of widespread disease overrule them. No SNOMED CT concept for
#: "oligoprogression" was verified, so this is read from text only.
_LIMITED = re.compile(
    r"\b(focal|limited|oligo-?\s?progress\w*|oligometastatic|isolated|solitary|single"
    r"\s+(?:lesion|nodule|site|metastasis)|nodule[- ]within[- ](?:a[- ])?(?:mass|nodule))\b",
    re.IGNORECASE,
)
_WIDESPREAD = re.compile(
    r"\b(widespread|diffuse|multiple|multifocal|generali[sz]ed|extensive|new lesions)\b",
    re.IGNORECASE,
)


def _limited(resource: Mapping[str, Any]) -> bool:
    """The Observation's value text, code displays or notes call the progression limited."""
    value = resource.get("valueCodeableConcept")
    texts = [concept_text(value), *(c.display for c in concept_codes(value))]
    texts += [as_str(as_dict(n).get("text")) for n in as_list(resource.get("note"))]
    joined = " ".join(t for t in texts if t)
    return bool(_LIMITED.search(joined)) and not _WIDESPREAD.search(joined)


_CODES = frozenset({LNC_DISEASE_STATUS, LNC_TREATMENT_RESPONSE})
#: LOINC Observation codes read as disease status.
STATUS_CODES = _CODES


def is_disease_status(raw: Mapping[str, Any]) -> bool:
    return any(c.system == LOINC and c.code in _CODES for c in concept_codes(raw.get("code")))


def map_disease_status(
    resource: Mapping[str, Any],
) -> tuple[DiseaseStatus | None, list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return None, []
    for code in concept_codes(resource.get("valueCodeableConcept")):
        if code.system == SNOMED and code.code in _VALUES:
            focus = tuple(
                r
                for r in (
                    as_str(as_dict(f).get("reference")) for f in as_list(resource.get("focus"))
                )
                if r
            )
            return (
                DiseaseStatus(
                    value=_VALUES[code.code],
                    code=code,
                    source_ref=ref,
                    date=effective_date(resource),
                    focus_refs=focus,
                    limited=_VALUES[code.code] is DiseaseStatusValue.PROGRESSION
                    and _limited(resource),
                ),
                [],
            )
    return None, [
        MappingIssue(
            "unmapped-value",
            ref,
            "disease status value is not one of the ConditionStatusTrend(Max) codes; skipped",
        )
    ]
