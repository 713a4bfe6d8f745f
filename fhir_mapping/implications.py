"""Therapeutic-implication and molecular-consequence Observations (genomics reporting IG).

A therapeutic implication becomes a :class:`TherapeuticImplication`; a molecular consequence
(STU3, pattern C) only lends its SO codes to the variants it is derived from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import (
    LNC_MEDICATION_ASSESSED,
    LOINC,
    RXNORM,
    SO,
    TBD,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    normalise_so,
    reference_of,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.genomic_parts import CONSEQUENCE_COMPONENTS, component_key
from fhir_mapping.issues import MappingIssue
from fhir_mapping.tables import drug_table
from rules.patient import Agent, Code, ImplicationValue, TherapeuticImplication

#: Observation codes (TBD system) of therapeutic implications and molecular consequences.
IMPLICATION_CODES = frozenset({"therapeutic-implication", "predicted-therapeutic-implication"})
CONSEQUENCE_CODE = "molecular-consequence"
_IMPLICATION_VALUES = {
    "LA6677-4": ImplicationValue.RESPONSIVE,
    "LA6676-6": ImplicationValue.RESISTANT,
    "LA9661-5": ImplicationValue.PRESUMED_RESPONSIVE,
    "LA9660-7": ImplicationValue.PRESUMED_RESISTANT,
    "LA9662-3": ImplicationValue.PRESUMED_NON_RESPONSIVE,
}


def consequence_targets(resource: Mapping[str, Any]) -> dict[str, set[str]]:
    """MolecularConsequence (STU3): SO codes per derivedFrom reference (pattern C)."""
    codes: set[str] = set()
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = component_key(comp)
        if key and key[0] == TBD and key[1] in CONSEQUENCE_COMPONENTS:
            for value_code in concept_codes(comp.get("valueCodeableConcept")):
                if value_code.system == SO:
                    codes.add(normalise_so(value_code.code))
    out: dict[str, set[str]] = {}
    for derived in as_list(resource.get("derivedFrom")):
        target = as_str(as_dict(derived).get("reference"))
        if target:
            out.setdefault(target, set()).update(codes)
    return out


def _agent_from_concept(concept: Any) -> tuple[Agent | None, Code | None]:
    table = drug_table()
    for code in concept_codes(concept):
        if code.system == RXNORM and code.code in table.by_rxnorm:
            return table.by_rxnorm[code.code].agent, code
    texts = [c.display for c in concept_codes(concept) if c.display]
    text = concept_text(concept)
    if text:
        texts.append(text)
    for candidate in texts:
        drug = table.match_name(candidate)
        if drug is not None:
            return drug.agent, next(concept_codes(concept), None)
    return None, next(concept_codes(concept), None)


def map_implication(
    resource: Mapping[str, Any],
) -> tuple[list[TherapeuticImplication], list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return [], []
    obs_code = next(
        (c for c in concept_codes(resource.get("code")) if c.system == TBD),
        Code(TBD, "therapeutic-implication"),
    )
    implication: ImplicationValue | None = None
    medication: Agent | None = None
    medication_code: Code | None = None
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = component_key(comp)
        if key is None:
            continue
        concept = comp.get("valueCodeableConcept")
        if key[0] == TBD and key[1] in IMPLICATION_CODES:
            for code in concept_codes(concept):
                if code.system == LOINC and code.code in _IMPLICATION_VALUES:
                    implication = _IMPLICATION_VALUES[code.code]
            if implication is None and concept is not None:
                implication = ImplicationValue.OTHER
        elif key == (LOINC, LNC_MEDICATION_ASSESSED):
            medication, medication_code = _agent_from_concept(concept)
    if implication is None:
        return [], [
            MappingIssue(
                "missing-value", ref, "therapeutic implication without an implication; skipped"
            )
        ]
    derived = tuple(
        r
        for r in (as_str(as_dict(d).get("reference")) for d in as_list(resource.get("derivedFrom")))
        if r
    )
    return [
        TherapeuticImplication(
            implication=implication,
            code=obs_code,
            source_ref=ref,
            medication=medication,
            medication_code=medication_code,
            derived_from=derived,
            date=effective_date(resource),
        )
    ], []
