"""Cheap pre-filter on raw Observation JSON, run before anything expensive.

A typical prefetch is mostly unrelated labs (creatinine, haemoglobin ...). They must cost little
more than JSON parsing, so an Observation is only classified, validated and mapped if

* one of its ``code.coding[*].code`` values is a code the mapping reads (genomic variant,
  single-gene test, therapeutic implication, molecular consequence, disease status,
  histology, TNM stage group or M category), or
* it carries one of the elements the conservative free-text pass reads
  (``valueString``, ``valueCodeableConcept``, ``component``, ``note``); those are then checked
  for a gene symbol (:func:`fhir_mapping.text_findings.mentions_gene`).

The code set is a superset of what the classifiers accept (they also require a ``system`` and
compare normalised systems), so the filter never drops an Observation a classifier would take:
an Observation that fails :func:`has_relevant_code` is classified as nothing by
:func:`fhir_mapping.genomics.classify`, :func:`fhir_mapping.disease_status.is_disease_status`
and :func:`fhir_mapping.conditions.is_histology_observation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fhir_mapping import conditions, disease_status, implications, procedures, staging
from fhir_mapping.codes import LNC_REGION_STUDIED, LNC_VARIANT
from fhir_mapping.tables import genomic_tests

#: Elements read by :func:`fhir_mapping.text_findings.observation_texts`.
TEXT_ELEMENTS = ("valueString", "valueCodeableConcept", "component", "note")


@cache
def relevant_observation_codes() -> frozenset[str]:
    """Every Observation ``code`` value that one of the classifiers can accept."""
    return frozenset(
        {
            LNC_VARIANT,
            LNC_REGION_STUDIED,
            *genomic_tests().by_loinc,
            *implications.IMPLICATION_CODES,
            implications.CONSEQUENCE_CODE,
            *disease_status.STATUS_CODES,
            conditions.LNC_HISTOLOGY_OBSERVATION,
            *staging.staging_observation_codes(),
            procedures.SCT_RESIDUAL_TUMOUR_STAGE,
        }
    )


#: :func:`screen` outcomes.
UNRELATED = 0
CODED = 1
TEXT_ONLY = 2


def screen(raw: Mapping[str, Any]) -> int:
    """:data:`CODED` if :func:`has_relevant_code`, else :data:`TEXT_ONLY` if
    :func:`may_carry_text`, else :data:`UNRELATED` (dropped: never validated nor mapped).

    Called once per Observation in the prefetch, so it is written for speed: a few dict
    lookups and a frozenset membership test per coding.
    """
    concept = raw.get("code")
    if type(concept) is dict or isinstance(concept, Mapping):
        coding = concept.get("coding")
        if isinstance(coding, list):
            relevant = relevant_observation_codes()
            for item in coding:
                if type(item) is dict or isinstance(item, Mapping):
                    value = item.get("code")
                    if isinstance(value, str) and value.strip() in relevant:
                        return CODED
    if "valueString" in raw or "valueCodeableConcept" in raw or "component" in raw or "note" in raw:
        return TEXT_ONLY
    return UNRELATED


def has_relevant_code(raw: Mapping[str, Any]) -> bool:
    """True if any ``code.coding[*].code`` (stripped) is in :func:`relevant_observation_codes`."""
    concept = raw.get("code")
    if not isinstance(concept, Mapping):
        return False
    coding = concept.get("coding")
    if not isinstance(coding, list):
        return False
    relevant = relevant_observation_codes()
    for item in coding:
        if isinstance(item, Mapping):
            value = item.get("code")
            if isinstance(value, str) and value.strip() in relevant:
                return True
    return False


def may_carry_text(raw: Mapping[str, Any]) -> bool:
    """True if ``raw`` has any element the free-text pass reads (a key test, no parsing)."""
    return any(key in raw for key in TEXT_ELEMENTS)
