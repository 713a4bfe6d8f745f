"""MedicationRequest / MedicationStatement (and hook draft orders) -> TherapyExposure, CoMedication.

The medication is identified by RxNorm (ingredient or verified clinical-drug code), ATC (current
or pre-2022), then by name/brand as a fallback. Unrecognised medications are not mapped. An
order's status, stop reason and intent are read by :mod:`fhir_mapping.order_status`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from fhir_mapping.codes import (
    ATC,
    RXNORM,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    reference_of,
)
from fhir_mapping.dates import parse_date, period_end, period_start
from fhir_mapping.doses import DoseReading, check_plausible, read_dose
from fhir_mapping.issues import MappingIssue
from fhir_mapping.order_status import (
    COMPLETED,
    REQUEST_STATUS,
    STATEMENT_STATUS,
    STOPPED,
    intent_of_order,
    stop_reason_of,
)
from fhir_mapping.products import Product, drug_of, product_table
from fhir_mapping.shared_memo import MISSING, SharedMemo
from fhir_mapping.tables import Drug, drug_table
from fhir_mapping.tolerance_text import note_text
from rules.frozen import builder, expect_fields, fast_init
from rules.patient import (
    Code,
    CoMedication,
    Dose,
    PartialDate,
    TherapyExposure,
    TherapyStatus,
)

MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})

Resolver = Callable[[str], Mapping[str, Any] | None]


@fast_init
@dataclass(frozen=True, slots=True)
class Identified:
    drug: Drug
    code: Code | None
    matched_by: str  # "rxnorm" | "atc" | "name"
    #: The clinical or branded drug when the order is coded at that level (its strength turns
    #: a tablet count into milligrams).
    product: Product | None = None


def medication_concept(
    resource: Mapping[str, Any], resolve: Resolver
) -> tuple[list[Any], str | None, bool]:
    """CodeableConcepts naming the medication, the reference used, and whether it resolved."""
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return [concept], None, True
    reference = as_dict(resource.get("medicationReference"))
    ref = as_str(reference.get("reference"))
    display_concept = {"text": reference["display"]} if as_str(reference.get("display")) else None
    if ref is None:
        return ([display_concept] if display_concept else []), None, display_concept is not None
    target: Mapping[str, Any] | None
    if ref.startswith("#"):
        target = next(
            (
                as_dict(c)
                for c in as_list(resource.get("contained"))
                if as_str(as_dict(c).get("id")) == ref[1:]
            ),
            None,
        )
    else:
        target = resolve(ref)
    if target is None or as_str(target.get("resourceType")) != "Medication":
        return ([display_concept] if display_concept else []), ref, False
    concepts: list[Any] = [target.get("code")]
    for ingredient in as_list(target.get("ingredient")):
        item = as_dict(ingredient).get("itemCodeableConcept")
        if item is not None:
            concepts.append(item)
    return concepts, ref, True


_CANCER_REQUEST_PROFILE = "mcode-cancer-related-medication-request"


def looks_antineoplastic(resource: Mapping[str, Any], concepts: list[Any]) -> bool:
    """An ATC L01 (antineoplastic agents) coding, or the mCODE CancerRelatedMedicationRequest
    profile: an order the rules would need to know about even if the drug table does not."""
    for concept in concepts:
        for code in concept_codes(concept):
            if code.system == ATC and code.code.upper().startswith("L01"):
                return True
    profiles = as_list(as_dict(resource.get("meta")).get("profile"))
    return any(isinstance(p, str) and p.endswith(_CANCER_REQUEST_PROFILE) for p in profiles)


def identify(concepts: list[Any]) -> Identified | None:
    table = drug_table()
    products = product_table()
    for concept in concepts:
        for code in concept_codes(concept):
            if code.system == RXNORM and code.code in table.by_rxnorm:
                return Identified(table.by_rxnorm[code.code], code, "rxnorm")
    for concept in concepts:
        for code in concept_codes(concept):
            product = products.by_rxnorm.get(code.code) if code.system == RXNORM else None
            drug = drug_of(product.ingredient) if product is not None else None
            if drug is not None:
                return Identified(drug, code, "rxnorm", product)
    for concept in concepts:
        for code in concept_codes(concept):
            if code.system == ATC and code.code.upper() in table.by_atc:
                return Identified(table.by_atc[code.code.upper()], code, "atc")
    for concept in concepts:
        texts = [c.display for c in concept_codes(concept) if c.display]
        text = concept_text(concept)
        if text:
            texts.insert(0, text)
        for candidate in texts:
            drug = table.match_name(candidate)
            if drug is None:
                ingredient = products.match_brand(candidate)
                drug = drug_of(ingredient) if ingredient is not None else None
            if drug is not None:
                return Identified(drug, next(concept_codes(concept), None), "name")
    return None


def _dates(resource: Mapping[str, Any]) -> tuple[PartialDate | None, PartialDate | None]:
    if resource.get("resourceType") == "MedicationStatement":
        start = parse_date(resource.get("effectiveDateTime")) or period_start(
            resource.get("effectivePeriod")
        )
        return start, period_end(resource.get("effectivePeriod"))
    start = end = None
    dosages = resource.get("dosageInstruction")
    if isinstance(dosages, list):
        for dosage in dosages:
            bounds = as_dict(as_dict(as_dict(dosage).get("timing")).get("repeat")).get(
                "boundsPeriod"
            )
            if bounds is None:
                continue
            start = start or period_start(bounds)
            end = end or period_end(bounds)
    return start or parse_date(resource.get("authoredOn")), end


DoseMemo = dict[bytes, tuple[DoseReading, Dose | None, str | None]]
#: What a dosage reads as, for every call of this process (:mod:`fhir_mapping.shared_memo`):
#: dose readings and the plausibility check's answer, keyed by the dosage, strength and drug.
DOSES: SharedMemo[tuple[DoseReading, Dose | None, str | None]] = SharedMemo()


def _dose(
    dosages: list[Any], strength: Decimal | None, ingredient: str | None, memo: DoseMemo | None
) -> tuple[DoseReading, Dose | None, str | None]:
    """:func:`read_dose` then :func:`check_plausible` (pure), once per distinct input per call
    and, through :data:`DOSES`, once per worker process until evicted."""
    key: bytes | None = None
    if memo is not None:
        try:
            key = orjson.dumps([dosages, None if strength is None else str(strength), ingredient])
        except (TypeError, orjson.JSONEncodeError):
            key = None
        if key is not None:
            found = memo.get(key)
            if found is not None:
                return found
            # Not yet in this call: the process-wide memo holds what earlier calls read.
            shared_key = DOSES.key(key)
            shared = DOSES.get(shared_key)
            if shared is not MISSING:
                memo[key] = shared
                return shared
    reading = read_dose(dosages, strength)
    dose, implausible = check_plausible(ingredient, reading.dose)
    if key is not None and memo is not None:
        memo[key] = (reading, dose, implausible)
        DOSES.put(shared_key, memo[key])
    return reading, dose, implausible


def exposure_issues(
    reading: DoseReading, implausible: str | None, identified: Identified, ref: str
) -> list[MappingIssue]:
    """The issues of a therapy exposure: its dose unreadable or implausible, its drug named
    by name only."""
    issues: list[MappingIssue] = (
        [MappingIssue("unreadable-dose", ref, problem) for problem in reading.problems]
        if reading.problems
        else []
    )
    if implausible is not None:
        issues.append(MappingIssue("implausible-dose", ref, implausible))
    if identified.matched_by == "name":
        issues.append(
            MappingIssue(
                "medication-matched-by-name",
                ref,
                f"medication identified as {identified.drug.agent.ingredient} by name, not by code",
            )
        )
    return issues


def comedication(
    identified: Identified,
    status: TherapyStatus,
    ref: str,
    start: PartialDate | None,
    end: PartialDate | None,
    is_draft: bool = False,
    is_selected: bool = False,
    order_id: str | None = None,
) -> CoMedication:
    """The co-medication fact of an identified order (a drug the interaction tables name)."""
    drug = identified.drug
    # Positional (see _FIELDS below): agent, role, status, source_ref, code, start, end,
    # is_draft, is_selected, order_id, classes.
    return build_comedication(
        drug.agent,
        drug.cyp3a4,
        status,
        ref,
        identified.code,
        start,
        end,
        is_draft,
        is_selected,
        order_id,
        drug.classes,
    )


def map_medication(
    resource: Mapping[str, Any],
    identified: Identified,
    *,
    ref: str | None = None,
    is_draft: bool = False,
    is_selected: bool = False,
    dose_memo: DoseMemo | None = None,
) -> tuple[TherapyExposure | CoMedication | None, list[MappingIssue]]:
    """``dose_memo``: one dict per call, so that the cycles of one regimen (the same dosage
    instructions order after order) have their dose read and checked once. ``ref``: the
    resource's :func:`reference_of`, when the caller has it already."""
    if ref is None:
        ref = reference_of(resource)
    rtype = as_str(resource.get("resourceType"))
    raw_status = as_str(resource.get("status")) or "unknown"
    table = STATEMENT_STATUS if rtype == "MedicationStatement" else REQUEST_STATUS
    if raw_status in ("entered-in-error", "not-taken"):
        return None, []
    status = table.get(raw_status)
    if status is None:
        return None, [MappingIssue("invalid-resource", ref, "unrecognised status; skipped")]
    if is_draft:
        status = TherapyStatus.DRAFT if status is TherapyStatus.UNKNOWN else status
    if status is STOPPED or status is COMPLETED:
        reasons = (
            as_list(resource.get("statusReason"))
            if rtype == "MedicationStatement"
            else [resource.get("statusReason")]
        )
        stop_reason, stop_code = stop_reason_of(status, reasons)
    else:  # (what stop_reason_of answers for any other status, without the call)
        stop_reason = stop_code = None
    start, end = _dates(resource)
    drug = identified.drug
    dosages = as_list(
        resource.get("dosage" if rtype == "MedicationStatement" else "dosageInstruction")
    )
    order_id = as_str(resource.get("id")) if is_draft else None
    if drug.is_comedication:
        return comedication(
            identified, status, ref, start, end, is_draft, is_selected, order_id
        ), []
    strength = identified.product.strength_mg if identified.product else None
    reading, dose, implausible = _dose(dosages, strength, drug.agent.ingredient, dose_memo)
    issues = exposure_issues(reading, implausible, identified, ref)
    return (
        # Positional (see _FIELDS below): agent, status, source_ref, code, start, end,
        # stop_reason, stop_reason_code, dose, intent, is_draft, is_selected, order_id,
        # intolerance_note.
        build_exposure(
            drug.agent,
            status,
            ref,
            identified.code,
            start,
            end,
            stop_reason,
            stop_code,
            dose,
            intent_of_order(resource),
            is_draft,
            is_selected,
            order_id,
            None if is_draft else note_text(resource),
        ),
        issues,
    )


#: The facts are built with positional arguments, in this field order: half the cost of
#: fourteen keyword arguments (~6 k instructions, once per order), and by
#: :func:`rules.frozen.builder`'s functions, which take every field (~5.4 k -> ~3.4 k for a
#: therapy exposure). Checked here, at import, so that a field added or moved in rules.facts
#: fails loudly instead of shifting a value.
build_exposure = builder(TherapyExposure)
build_comedication = builder(CoMedication)
_FIELDS = {
    TherapyExposure: (
        "agent",
        "status",
        "source_ref",
        "code",
        "start",
        "end",
        "stop_reason",
        "stop_reason_code",
        "dose",
        "intent",
        "is_draft",
        "is_selected",
        "order_id",
        "intolerance_note",
    ),
    CoMedication: (
        "agent",
        "role",
        "status",
        "source_ref",
        "code",
        "start",
        "end",
        "is_draft",
        "is_selected",
        "order_id",
        "classes",
    ),
}
for _fact, _names in _FIELDS.items():
    expect_fields(_fact, _names, "fhir_mapping.medications (map_medication, comedication)")
