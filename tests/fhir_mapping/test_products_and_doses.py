"""Drugs coded and dosed as EHRs send them: RxNorm clinical and branded drugs, brand names,
tablet counts, IV doses per cycle, and doses above the labelled maximum."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_mapping import map_prefetch
from fhir_mapping.products import product_table
from fhir_mapping.tables import drug_table
from rules import load_kb
from tests.fhir_mapping.builders import CTX, bundle

RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
PRODUCTS = product_table().by_rxnorm


def order(
    rid: str,
    concept: dict[str, Any],
    *,
    value: Any = None,
    unit: str = "mg",
    frequency: int = 1,
    period: int = 1,
    text: str | None = None,
    status: str = "active",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2025-01-10",
        "medicationCodeableConcept": concept,
    }
    if value is not None:
        dosage: dict[str, Any] = {
            "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": value, "system": UCUM, "code": unit}}],
        }
        if text:
            dosage["text"] = text
        resource["dosageInstruction"] = [dosage]
    return resource


def rx(code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": RXN, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def mapped(*resources: dict[str, Any]) -> Any:
    return map_prefetch({"m": bundle(*resources)}, CTX)


@pytest.mark.parametrize("code", sorted(PRODUCTS))
def test_every_clinical_and_branded_drug_is_identified_by_code_with_its_strength(
    code: str,
) -> None:
    product = PRODUCTS[code]
    result = mapped(order("m1", rx(code), value=2, unit="{tbl}"))
    facts = [*result.patient.exposures, *result.patient.comedications]
    (fact,) = facts
    assert fact.agent.ingredient == product.ingredient
    assert fact.code is not None and fact.code.code == code
    assert not any(i.kind == "medication-matched-by-name" for i in result.issues)
    exposure = result.patient.exposures[0] if result.patient.exposures else None
    if exposure is not None and exposure.dose is not None and exposure.dose.plausible:
        assert exposure.dose.mg_per_day == 2 * product.strength_mg


#: Knowledge-base drugs and the clinical (SCD) and branded (SBD) drug codes verified for them.
#: The others are matched by ingredient code, ATC or name (drug_products.yaml says why).
KB_PRODUCTS = {
    "imatinib": ("403879", "404589"),
    "sunitinib": ("616289", "616292"),
    "regorafenib": ("1312402", "1312408"),
    "pazopanib": ("867502", "867506"),
    "crizotinib": ("1148504", "1148506"),
    "sirolimus": ("349208", "351989"),
}


@pytest.mark.parametrize("drug", sorted(KB_PRODUCTS))
def test_kb_drug_ordered_by_scd_and_by_sbd(drug: str) -> None:
    scd, sbd = KB_PRODUCTS[drug]
    assert (PRODUCTS[scd].tty, PRODUCTS[sbd].tty) == ("SCD", "SBD")
    result = mapped(
        order("scd", rx(scd, PRODUCTS[scd].name), value=1, unit="{pill}"),
        order("sbd", rx(sbd, PRODUCTS[sbd].name), value=1, unit="{pill}"),
    )
    by_ref = {e.source_ref: e for e in result.patient.exposures}
    for ref, code in (("MedicationRequest/scd", scd), ("MedicationRequest/sbd", sbd)):
        exposure = by_ref[ref]
        assert exposure.agent.ingredient == drug
        assert exposure.dose is not None
        assert exposure.dose.mg_per_day == PRODUCTS[code].strength_mg
    assert result.issues == ()


def test_every_kb_drug_without_a_verified_product_code_is_still_recognised_by_name() -> None:
    valuesets = load_kb().valuesets
    kb_drugs = {
        valuesets.get(vs_id).display
        for vs_id in valuesets.ids()
        # formulations that map to their ingredient on purpose
        if valuesets.kind(vs_id) == "drug"
        and vs_id not in {"drug-liposomal-doxorubicin", "drug-nab-sirolimus"}
    }
    without = sorted(kb_drugs - set(KB_PRODUCTS))
    assert without  # the table does not pretend to cover them
    for drug in without:
        result = mapped(order("x", {"text": f"{drug} 100 MG Oral Tablet"}))
        (exposure,) = result.patient.exposures
        assert exposure.agent.ingredient == drug


@pytest.mark.parametrize(
    ("text", "ingredient"),
    [
        ("Glivec 400 mg film-coated tablets", "imatinib"),
        ("SUTENT 50mg", "sunitinib"),
        ("Ayvakyt 300 mg", "avapritinib"),
        ("Rifadin 300 mg capsule", "rifampin"),
        ("Tegretol 200 MG Oral Tablet", "carbamazepine"),
    ],
)
def test_brand_and_international_names_are_a_name_fallback(text: str, ingredient: str) -> None:
    result = mapped(order("b", {"text": text}))
    facts = [*result.patient.exposures, *result.patient.comedications]
    (fact,) = facts
    assert fact.agent.ingredient == ingredient


@pytest.mark.parametrize("text", ["Tegretolx 200", "pre-Sutent study", "Glivecs"])
def test_brand_names_match_words_never_substrings(text: str) -> None:
    result = mapped(order("b", {"text": text}))
    assert result.patient.exposures == () and result.patient.comedications == ()


def test_all_brands_belong_to_drugs_of_the_drug_table() -> None:
    ingredients = {d.agent.ingredient for d in drug_table().drugs}
    assert set(product_table().by_brand.values()) <= ingredients


@pytest.mark.parametrize("unit", ["{pill}", "{tbl}", "{tablet}", "tablet", "1 tablet"])
def test_tablet_counts_times_the_coded_strength(unit: str) -> None:
    result = mapped(order("m", rx("403879"), value=1, unit=unit, frequency=2))
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert (dose.mg_per_day, dose.schedule) == (Decimal(800), "800 mg/day")


def test_capsule_count_of_a_capsule_product() -> None:
    result = mapped(
        order("m", rx("616289"), value=1, unit="{capsule}", text="4 weeks on / 2 weeks off")
    )
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert (dose.mg_per_day, dose.days_on, dose.cycle_days) == (Decimal(50), 28, 42)


def test_tablet_count_of_an_ingredient_code_has_no_mg() -> None:
    # No strength is known for an ingredient-level code: the count stays a count.
    result = mapped(order("m", rx("282388"), value=1, unit="{pill}"))
    dose = result.patient.exposures[0].dose
    assert dose is not None and dose.mg_per_day is None


def test_iv_doxorubicin_every_21_days_is_kept_per_cycle() -> None:
    result = mapped(order("m", rx("3639"), value=75, unit="mg/m2", frequency=1, period=21))
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert (dose.per_cycle, dose.per_cycle_unit, dose.cycle_days) == (Decimal(75), "mg/m2", 21)
    assert dose.mg_per_day is None
    assert dose.schedule == "75 mg/m2 every 21 days"
    assert result.issues == ()


def test_iv_dose_in_mg_every_21_days_is_kept_per_cycle() -> None:
    result = mapped(order("m", rx("3639"), value=140, unit="mg", frequency=1, period=21))
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert (dose.per_cycle, dose.per_cycle_unit, dose.schedule) == (
        Decimal(140),
        "mg",
        "140 mg every 21 days",
    )


def test_iv_dose_on_days_1_to_5_of_a_cycle() -> None:
    result = mapped(
        order(
            "m",
            rx("5657"),
            value=1800,
            unit="mg/m2",
            text="1800 mg/m2 IV daily on days 1-5 of each 21-day cycle",
        )
    )
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert (dose.per_cycle, dose.cycle_days, dose.days_on) == (Decimal(9000), 21, 5)
    assert dose.schedule == "1800 mg/m2 on days 1-5 of 21 (9000 mg/m2 per cycle)"


@pytest.mark.parametrize(
    ("resource", "shown"),
    [
        (order("m", rx("3639"), value=140), "140 mg x1/day (implausible)"),
        (order("m", rx("403879"), value=4, unit="{pill}"), "1600 mg x1/day (implausible)"),
        (
            order("m", rx("3639"), value=150, unit="mg/m2", frequency=1, period=21),
            "150 mg/m2 x0.0476",
        ),
    ],
    ids=["doxorubicin-140-mg-daily", "imatinib-4-tablets-daily", "doxorubicin-150-per-m2"],
)
def test_a_dose_above_the_labelled_maximum_is_shown_but_never_used(
    resource: dict[str, Any], shown: str
) -> None:
    result = mapped(resource)
    dose = result.patient.exposures[0].dose
    assert dose is not None and not dose.plausible
    assert dose.mg_per_day is None and dose.per_cycle is None
    assert dose.schedule is not None and dose.schedule.startswith(shown)
    (issue,) = [i for i in result.issues if i.kind == "implausible-dose"]
    assert issue.reference == "MedicationRequest/m"
    assert "above the labelled" in issue.problem


@pytest.mark.parametrize("value", [1e308, "four hundred", -1e300])
def test_an_unreadable_dose_value_is_reported_never_raised(value: Any) -> None:
    result = mapped(order("m", rx("403879"), value=value, unit="{pill}"))
    (exposure,) = result.patient.exposures
    assert exposure.dose is None or exposure.dose.mg_per_day is None
    assert {i.kind for i in result.issues} & {"unreadable-dose", "non-conformant-element"}


def test_a_draft_with_no_medication_chosen_is_not_an_order_and_raises_no_phantom_issue() -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-30",
    }
    context = {**CTX, "draftOrders": bundle(draft), "selections": ["MedicationRequest/request-123"]}
    result = map_prefetch({}, context)
    assert result.issues == () and result.unchecked == ()
    assert result.patient.exposures == ()


def test_a_non_conformant_element_is_reported_the_same_on_a_verdict_cache_hit() -> None:
    draft = order("c1", rx("403879"), value=1, unit="{pill}")
    draft["category"] = {"coding": [{"code": "community"}]}
    first = mapped(draft)
    second = mapped(draft)
    assert first.issues == second.issues
    (issue,) = first.issues
    assert (issue.kind, issue.reference) == ("non-conformant-element", "MedicationRequest/c1")
    assert issue.problem.startswith("category: object where a list is required")
    assert first.patient.exposures[0].agent.ingredient == "imatinib"
