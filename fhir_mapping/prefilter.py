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

The same pass (:func:`sift`) drops the medications
:func:`fhir_mapping.medication_filter.may_matter` says do not matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from fhir_mapping import (
    conditions,
    disease_status,
    gist_risk,
    implications,
    medication_filter,
    populations,
    procedures,
    staging,
)
from fhir_mapping.budget import EVERY, checkpoint
from fhir_mapping.codes import LNC_REGION_STUDIED, LNC_VARIANT, LOINC, normalise_system
from fhir_mapping.medications import MEDICATION_TYPES
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


#: :func:`route` outcomes beyond :func:`screen`'s: a special-population Observation
#: (:func:`fhir_mapping.populations.kind`) and a GIST risk factor (:func:`gist_risk.kind`).
POPULATION = 3
RISK_FACTOR = 4


_TAGS: dict[str, tuple[str | None, bool, bool]] = {}


def _tags() -> dict[str, tuple[str | None, bool, bool]]:
    """:func:`_tag_table`, built on first use and kept (read on every Observation)."""
    if not _TAGS:
        _TAGS.update(_tag_table())
    return _TAGS


def _tag_table() -> dict[str, tuple[str | None, bool, bool]]:
    """code -> (population kind, is the tumour-size code, is a relevant code): one dict lookup
    per coding answers all three classifiers."""
    kinds = populations.observation_kinds()
    relevant = relevant_observation_codes()
    return {
        code: (kinds.get(code), code == gist_risk.LNC_TUMOUR_SIZE, code in relevant)
        for code in {*kinds, gist_risk.LNC_TUMOUR_SIZE, *relevant}
    }


def route(
    raw: Mapping[str, Any], displays: dict[str, bool] | None = None
) -> tuple[int, str | None]:
    """Where an Observation of the prefetch goes, in one pass over its codings:
    ``(POPULATION, populations.kind(raw))`` if that is not None, else
    ``(RISK_FACTOR, gist_risk.kind(raw))`` if that is not None, else ``(screen(raw), None)``.

    Called once per Observation of the prefetch (most of them unrelated labs): each coding's
    code is looked up once, its system normalised only on a hit, and the GIST risk wording is
    searched only when the text or a display may hold it. ``displays``, a dict the caller
    keeps for one call, remembers that answer per display text: a lab feed repeats a few
    displays hundreds of times.
    """
    concept = raw.get("code")
    size = relevant = False
    wording = False
    if type(concept) is dict or isinstance(concept, Mapping):
        text = concept.get("text")
        wording = text is not None and gist_risk.may_name_a_kind(text)
        items = concept.get("coding")
        if isinstance(items, list):
            tags = _TAGS or _tags()
            for coding in items:
                if not (type(coding) is dict or isinstance(coding, Mapping)):
                    continue
                if not wording:
                    display = coding.get("display")
                    if type(display) is str and displays is not None:
                        known = displays.get(display)
                        if known is None:
                            known = displays[display] = gist_risk.may_name_a_kind(display)
                        wording = known
                    else:
                        wording = gist_risk.may_name_a_kind(display)
                value = coding.get("code")
                if not isinstance(value, str):
                    continue
                tag = tags.get(value.strip())
                if tag is None:
                    continue
                population, is_size, is_relevant = tag
                system = coding.get("system")
                if isinstance(system, str):
                    if population is not None and normalise_system(system) == LOINC:
                        return POPULATION, population
                    if is_size and system.strip() and normalise_system(system) == LOINC:
                        size = True
                relevant = relevant or is_relevant
    if size:
        return RISK_FACTOR, "size"
    if wording:
        risk = gist_risk.kind(raw)
        if risk is not None:
            return RISK_FACTOR, risk
    if relevant:
        return CODED, None
    if "valueString" in raw or "valueCodeableConcept" in raw or "component" in raw or "note" in raw:
        return TEXT_ONLY, None
    return UNRELATED, None


#: :func:`sift`'s mark of a resource that is not an Observation (kept for the caller to read).
NOT_OBSERVATION = -1

Routed = tuple[Mapping[str, Any], int]


class _Undecided(Exception):
    """Raised by :func:`sift`'s fast path for what it leaves to :func:`route`."""


def _tag_of(value: Any, tagged: dict[Any, Any], untagged: set[Any]) -> Any:
    """What :func:`route` finds for one coding's ``code`` value (nothing for a non-string),
    remembered in ``tagged`` (found) or ``untagged`` (nothing)."""
    tag = (_TAGS or _tags()).get(value.strip()) if isinstance(value, str) else None
    if tag is None:
        untagged.add(value)
    else:
        tagged[value] = tag
    return tag


def _worded(text: Any, unworded: set[Any]) -> None:
    """Raise :class:`_Undecided` if ``text`` may hold GIST risk wording
    (``gist_risk.may_name_a_kind``), else remember it in ``unworded``."""
    if gist_risk.may_name_a_kind(text):
        raise _Undecided
    unworded.add(text)


def sift(
    resources: Sequence[Mapping[str, Any]],
) -> tuple[list[Routed], list[tuple[Mapping[str, Any], str]], list[tuple[Mapping[str, Any], str]]]:
    """The pre-filter pass over the collected resources, in input order: ``(kept, population,
    risk_factors)``. ``kept`` holds every resource that is not an Observation (marked
    :data:`NOT_OBSERVATION`) and the :data:`CODED` and :data:`TEXT_ONLY` Observations, as
    ``(raw, outcome)``; ``population`` and ``risk_factors`` the ``(raw, kind)`` of the
    :data:`POPULATION` and :data:`RISK_FACTOR` ones; :data:`UNRELATED` Observations are dropped.
    Each Observation goes where :func:`route` sends it; a MedicationRequest/MedicationStatement
    is dropped if :func:`fhir_mapping.medication_filter.may_matter` is False for it.

    A record repeats a supportive medication's orders (one per cycle or refill), so the orders
    after the first whose concept is only that ``text``, and that have none of the other
    elements ``may_matter`` reads (``medication_filter.READ_BESIDES_CONCEPT``), are dropped by
    the answer ``may_matter`` left for the text in its per-call memo, without a call; a text
    it found naming a drug keeps the order the same way (``may_matter`` is then True whatever
    else the order holds). The memo is filled by ``may_matter`` alone.

    Most Observations of a prefetch are unrelated labs (~850 of the 1,000 resources of a broad
    lab search), so the common shape is decided here with subscripts and per-call memos, no
    call per resource: codings (JSON objects in a list) whose ``code`` is none the mapping
    reads, or a special-population code with the exact LOINC system, and no GIST risk wording
    in the ``text`` or a ``display``; a code the mapping reads (genomic, status, histology,
    staging) makes it :data:`CODED` unless a later coding makes it a population Observation.
    Any other shape or content (a missing ``code``, the tumour-size code, a population code
    in another spelling of the LOINC system, wording, a value of another JSON type) is left to
    :func:`route`: the
    fast path only ever answers what :func:`route` answers (``tests/fhir_mapping/test_sift.py``).
    The CPU budget is checked before every :data:`fhir_mapping.budget.EVERY` th resource
    (the clock read each time).
    """
    kept: list[Routed] = []
    population: list[tuple[Mapping[str, Any], str]] = []
    risk_factors: list[tuple[Mapping[str, Any], str]] = []
    # Per-call memos: code values with no tag (:func:`_tag_of`) and with one, texts and
    # displays with no GIST risk wording (:func:`_worded`): one set lookup each on a hit.
    untagged: set[Any] = set()
    tagged: dict[Any, Any] = {}
    unworded: set[Any] = {None}
    displays: dict[str, bool] = {}  # route()'s own memo
    loinc = LOINC
    # medication_filter.may_matter's per-call memo (concept text -> may it name a drug), filled
    # by may_matter only, and what else it reads per medication type.
    names: dict[str, bool] = {}
    besides = medication_filter.READ_BESIDES_CONCEPT
    for start in range(0, len(resources), EVERY):
        checkpoint(now=True)
        for raw in resources[start : start + EVERY]:
            try:
                rtype = raw["resourceType"]
                if rtype != "Observation":
                    if rtype in besides:
                        concept = raw["medicationCodeableConcept"]
                        named = names.get(concept["text"])
                        if named is None or (
                            not named
                            and (
                                type(concept) is not dict
                                or len(concept) != 1
                                or not besides[rtype].isdisjoint(raw)
                            )
                        ):
                            named = medication_filter.may_matter(raw, names)
                        if not named:
                            continue  # a medication no table names: nothing to read
                    kept.append((raw, NOT_OBSERVATION))
                    continue
                concept = raw["code"]
                if "text" in concept and concept["text"] not in unworded:
                    _worded(concept["text"], unworded)
                found = None
                relevant = False
                for coding in concept["coding"]:
                    value = coding["code"]
                    if value not in untagged:
                        tag = tagged[value] if value in tagged else _tag_of(value, tagged, untagged)
                        if tag is not None:
                            if tag[0] is not None:
                                if coding.get("system") != loinc:
                                    raise _Undecided
                                found = tag[0]
                                break
                            if tag[1]:
                                raise _Undecided  # the tumour-size code: route reads its system
                            relevant = True  # a code the mapping reads, whatever its system
                    display = coding.get("display")
                    if display not in unworded:
                        _worded(display, unworded)
            except (LookupError, TypeError, _Undecided):
                # Another shape, or content route() (or may_matter) must judge.
                rtype = raw.get("resourceType")
                if rtype != "Observation":
                    if (
                        (type(rtype) is str or isinstance(rtype, str))
                        and rtype in MEDICATION_TYPES
                        and not medication_filter.may_matter(raw, names)
                    ):
                        continue
                    kept.append((raw, NOT_OBSERVATION))
                    continue
                screened, kind = route(raw, displays)
                if screened == POPULATION and kind is not None:
                    population.append((raw, kind))
                elif screened == RISK_FACTOR and kind is not None:
                    risk_factors.append((raw, kind))
                elif screened != UNRELATED:
                    kept.append((raw, screened))
                continue
            if found is not None:
                population.append((raw, found))
            elif relevant:
                kept.append((raw, CODED))
            elif (
                "valueString" in raw
                or "valueCodeableConcept" in raw
                or "component" in raw
                or "note" in raw
            ):
                kept.append((raw, TEXT_ONLY))
    return kept, population, risk_factors
