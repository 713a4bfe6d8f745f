"""map_prefetch: raw prefetch + hook context -> MappingResult(patient, issues).

The two passes live here (a pre-filter pass over every resource, then the dispatch to the
per-type methods of :class:`fhir_mapping.builder.PatientBuilder`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from fhir_mapping import (
    genomics,
    implications,
    lab_window,
    medications,
    prefilter,
)
from fhir_mapping.budget import EVERY, checkpoint
from fhir_mapping.builder import MappingResult, PatientBuilder
from fhir_mapping.bundles import collect, selections
from fhir_mapping.codes import as_str, reference_of
from fhir_mapping.issues import MappingIssue
from fhir_mapping.parse import OTHER_VERSION_TYPES
from rules.populations import LabResult, PregnancyRecord
from rules.wording import count as count_words

__all__ = ["MappingResult", "map_prefetch"]

#: Resource types that are read (others are counted and reported once per type).
_KNOWN_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "Medication",
        "Procedure",
        "DiagnosticReport",
        "Specimen",
        "AllergyIntolerance",
        *medications.MEDICATION_TYPES,
    }
)
#: Types commonly present in prefetch that are not needed: ignored without an issue.
_QUIET_TYPES = frozenset({"Practitioner", "Organization"})


def map_prefetch(
    prefetch: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    labs_searched: bool = True,
    as_of: dt.date | None = None,
    lab_lookback_days: int | None = None,
) -> MappingResult:
    """Map raw prefetch values (resources, searchset Bundles, OperationOutcomes or None) and the
    hook context (patientId, draftOrders, selections) to the patient model.

    ``labs_searched``: False when the caller could not obtain the search for pregnancy status
    and organ-function results, so that their absence here is not evidence of their absence.

    With ``as_of`` (the day of the call) and ``lab_lookback_days`` (the longest window in
    which a rule reads organ-function laboratory results, ``rules.lab_lookback_days``), only
    the laboratory results a rule can read are validated and mapped
    (:mod:`fhir_mapping.lab_window`); without them every one is.

    Never raises on bad data: every problem becomes a :class:`MappingIssue`.
    """
    if not isinstance(prefetch, Mapping):
        prefetch = {}
    if not isinstance(context, Mapping):
        context = {}
    collected = collect(prefetch, context)
    builder = PatientBuilder(collected, as_str(context.get("patientId")))
    builder.labs_searched = labs_searched
    draft_refs = {reference_of(d) for d in collected.drafts}

    # Pre-filter pass (once per resource, before anything expensive): unrelated Observations
    # (no code the mapping reads, no element the text pass reads) and medications no drug
    # table names (fhir_mapping.medication_filter) are dropped by prefilter.sift and never
    # validated; the others are classified once. MolecularConsequence observations are read
    # here and only here (pattern C needs them when mapping variants): the main pass skips them,
    # so each of their issues is reported once, and one about another patient is not folded.
    # (raw, its type as the main pass reads it, coded, genomic kind) in input order.
    todo: list[tuple[Mapping[str, Any], str, bool, str | None]] = []
    consequences: dict[str, set[str]] = {}
    kept, population_observations, risk_factors = prefilter.sift(collected.resources)
    # The CPU budget is checked every EVERY resources (the clock read each time), as often as
    # a checkpoint per resource reads it, without a call per resource (so does sift).
    not_observation, text_only = prefilter.NOT_OBSERVATION, prefilter.TEXT_ONLY
    medication_types = medications.MEDICATION_TYPES
    classify, consequence = genomics.classify, genomics.KIND_CONSEQUENCE
    for start in range(0, len(kept), EVERY):
        checkpoint(now=True)
        for raw, screened in kept[start : start + EVERY]:
            if screened == not_observation:
                rtype = raw.get("resourceType")
                if type(rtype) is str or isinstance(rtype, str):
                    todo.append((raw, rtype if rtype.strip() else "(none)", False, None))
                else:
                    todo.append((raw, "(none)", False, None))
                continue
            if screened == text_only:
                todo.append((raw, "Observation", False, None))
                continue
            kind = classify(raw)
            if kind != consequence:
                todo.append((raw, "Observation", True, kind))
                continue
            if builder._other_patient(raw):
                continue
            cleaned = builder._checked(raw)
            if cleaned is not None:
                for target, codes in implications.consequence_targets(cleaned).items():
                    consequences.setdefault(target, set()).update(codes)
    # derivedFrom may be relative ("Observation/x"), absolute, or a bare id.
    normalised: dict[str, set[str]] = {}
    for target, codes in consequences.items():
        parts = target.rstrip("/").split("/")
        key = "/".join(parts[-2:]) if len(parts) >= 2 else f"Observation/{target}"
        normalised.setdefault(key, set()).update(codes)

    ignored: Counter[str] = Counter()
    by_type = {
        "Patient": builder.patient,
        "Condition": builder.condition,
        "Procedure": builder.procedure,
        "DiagnosticReport": builder.report,
        "Specimen": builder.specimen,
        "AllergyIntolerance": builder.allergy_intolerance,
    }
    for start in range(0, len(todo), EVERY):
        checkpoint(now=True)
        for raw, rtype, coded, kind in todo[start : start + EVERY]:
            if rtype == "Observation":
                builder.observation(raw, normalised, coded=coded, kind=kind)
            elif rtype in medication_types:
                reference = reference_of(raw)
                if reference in draft_refs:
                    continue  # the hook's draft copy wins
                builder.medication(raw, ref=reference)
            elif (method := by_type.get(rtype)) is not None:
                method(raw)
            elif rtype in OTHER_VERSION_TYPES:
                builder._checked(raw)
            elif rtype not in _KNOWN_TYPES and rtype not in _QUIET_TYPES:
                ignored[rtype] += 1
    for raw, risk_kind in risk_factors:
        checkpoint()
        builder.gist_risk_factor(raw, risk_kind)
    _population_observations(builder, population_observations, as_of, lab_lookback_days)
    chosen = selections(context)
    for raw in collected.drafts:
        checkpoint()
        builder.draft(raw, chosen)
    for rtype, count in sorted(ignored.items()):
        builder.issues.append(
            MappingIssue(
                "unsupported-resource-type",
                rtype,
                f"{count_words(count, 'resource')} of a type this service does not read; ignored",
            )
        )
    return builder.finish()


def _population_observations(
    builder: PatientBuilder,
    entries: Sequence[tuple[Mapping[str, Any], str]],
    as_of: dt.date | None,
    lookback_days: int | None,
) -> None:
    """Map the pregnancy-status and laboratory Observations, in input order; with a day and a
    look-back, only the laboratory results a rule can read (:mod:`fhir_mapping.lab_window`)."""
    if as_of is None or lookback_days is None:
        for raw, population_kind in entries:
            builder.population_observation(raw, population_kind)
        return
    produced: dict[int, tuple[list[MappingIssue], list[LabResult], list[PregnancyRecord]]] = {}

    def read(index: int) -> list[LabResult]:
        if index not in produced:
            issues, labs, pregnancy = builder.issues, builder.labs, builder.pregnancy
            before = len(issues), len(labs), len(pregnancy)
            raw, population_kind = entries[index]
            builder.population_observation(raw, population_kind)
            produced[index] = (
                issues[before[0] :],
                labs[before[1] :],
                pregnancy[before[2] :],
            )
            del issues[before[0] :], labs[before[1] :], pregnancy[before[2] :]
        return produced[index][1]

    for index in sorted(lab_window.chosen(entries, as_of, lookback_days, read)):
        read(index)
        issues, labs, pregnancy = produced[index]
        builder.issues.extend(issues)
        builder.labs.extend(labs)
        builder.pregnancy.extend(pregnancy)
