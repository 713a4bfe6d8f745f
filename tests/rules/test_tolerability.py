"""Tolerability: intolerances derived from the therapy history, and the engine's guard that no
card offers an order at a dose the record shows was not tolerated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rules import evaluate, load_kb
from rules.patient import IntoleranceKind
from tests.rules.sarcoma_case_factory import build_patient

KB = load_kb()
AS_OF = date(2026, 1, 15)


def _kinds(spec: dict[str, object]) -> list[tuple[str, IntoleranceKind, Decimal | None]]:
    patient = build_patient(spec)
    return [(i.ingredient, i.kind, i.mg_per_day) for i in patient.intolerances()]


def test_a_later_lower_dose_of_the_same_drug_is_a_reduction_from_the_higher_dose() -> None:
    found = _kinds(
        {
            "therapy": [
                {"drug": "sunitinib", "start": "2024-01-01", "mg": 50, "status": "completed"},
                {"drug": "sunitinib", "start": "2024-03-01", "mg": 37.5, "status": "completed"},
                {"drug": "sunitinib", "start": "2024-06-01", "mg": 25},
            ]
        }
    )
    assert found == [
        ("sunitinib", IntoleranceKind.DOSE_REDUCTION, Decimal(50)),
        ("sunitinib", IntoleranceKind.DOSE_REDUCTION, Decimal(50)),
    ]


def test_a_rechallenge_after_other_lines_is_not_a_dose_reduction() -> None:
    found = _kinds(
        {
            "therapy": [
                {"drug": "imatinib", "start": "2020-01-01", "end": "2021-01-01", "mg": 800,
                 "stop": "progression"},
                {"drug": "sunitinib", "start": "2021-01-15", "end": "2022-01-01", "mg": 50,
                 "stop": "progression"},
                {"drug": "imatinib", "start": "2022-02-01", "mg": 400},
            ]
        }
    )  # fmt: skip
    assert found == []


def test_stopped_for_toxicity_and_an_order_note_are_intolerances_at_their_dose() -> None:
    found = _kinds(
        {
            "therapy": [
                {"drug": "pazopanib", "start": "2024-01-01", "end": "2024-02-01", "mg": 800,
                 "stop": "toxicity"},
                {"drug": "regorafenib", "start": "2024-03-01", "mg": 120,
                 "note": "reduced for hand-foot skin reaction"},
            ]
        }
    )  # fmt: skip
    assert ("pazopanib", IntoleranceKind.STOPPED_FOR_TOXICITY, Decimal(800)) in found
    assert ("regorafenib", IntoleranceKind.NOTE, Decimal(120)) in found


def _first_line(intolerance: dict[str, object]) -> list[object]:
    patient = build_patient(
        {
            "diagnoses": [{"histology": "gist"}],
            "biomarkers": [{"gene": "KIT", "exon": 11}],
            "extent": [{"extent": "metastatic", "source": "secondary-condition"}],
            "intolerances": [intolerance],
        }
    )
    recs = evaluate(patient, KB, AS_OF, "patient-view")
    return [r for r in recs if r.rule_id == "gist-first-line-imatinib"]


def test_no_order_is_offered_for_a_drug_recorded_as_not_tolerated_at_any_dose() -> None:
    (rec,) = _first_line({"drug": "imatinib", "kind": "allergy-record", "detail": "rash"})
    assert not [a for a in rec.actions if a.drug is not None and a.drug.id == "drug-imatinib"]
    assert any(
        f.text.startswith("Not offered as an order") and f.source_ref == "AllergyIntolerance/ai-1"
        for f in rec.findings
    )


def test_an_intolerance_at_a_higher_dose_keeps_the_lower_dose_order() -> None:
    (rec,) = _first_line({"drug": "imatinib", "kind": "intolerance-record", "mg": 800})
    assert [a.type for a in rec.actions if a.drug and a.drug.id == "drug-imatinib"] == [
        "create-medication-request"
    ]
    assert not any(f.text.startswith("Not offered") for f in rec.findings)


def _options(rule_id: str, spec: dict[str, object]) -> tuple[list[str], list[str]]:
    recs = evaluate(build_patient(spec), KB, AS_OF, "patient-view")
    (rec,) = [r for r in recs if r.rule_id == rule_id]
    return [o.drug.id for o in rec.options], [f.text for f in rec.findings]


def test_an_option_already_received_is_dropped_not_the_whole_card() -> None:
    options, findings = _options(
        "lms-second-line",
        {
            "diagnoses": [{"histology": "leiomyosarcoma"}],
            "therapy": [
                {"drug": "doxorubicin", "start": "2024-01-01", "end": "2024-06-01",
                 "stop": "progression"},
                {"drug": "gemcitabine", "start": "2024-07-01", "end": "2025-01-01",
                 "stop": "progression"},
            ],
        },
    )  # fmt: skip
    assert options == ["drug-trabectedin", "drug-pazopanib"]
    assert any(f.startswith("Already received, left out of the options: gemcitabine")
               for f in findings)  # fmt: skip


def test_sft_after_pazopanib_offers_sunitinib_only() -> None:
    options, _ = _options(
        "sft-pazopanib-sunitinib",
        {
            "diagnoses": [{"histology": "solitary-fibrous-tumor"}],
            "therapy": [{"drug": "pazopanib", "start": "2024-02-01", "end": "2025-01-01",
                         "stop": "progression", "mg": 800}],
        },
    )  # fmt: skip
    assert options == ["drug-sunitinib"]
