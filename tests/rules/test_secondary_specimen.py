"""Secondary KIT mutations and the specimen they came from (tissue or plasma/ctDNA)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rules import evaluate, load_kb
from tests.rules.sarcoma_case_factory import build_patient

KB = load_kb()
AS_OF = dt.date(2025, 6, 1)
IMATINIB_FAILED = {
    "drug": "imatinib",
    "start": "2022-01-01",
    "end": "2025-01-01",
    "stop": "progression",
    "mg": 400,
}


def _findings(spec: dict[str, Any], rule: str, hook: str = "order-sign") -> list[str]:
    recs = [r for r in evaluate(build_patient(spec), KB, AS_OF, hook) if r.rule_id == rule]
    assert len(recs) == 1, f"{rule} did not fire"
    return [f.text for f in recs[0].findings]


def test_the_card_names_the_plasma_specimen_of_a_secondary_mutation() -> None:
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [
            {"gene": "KIT", "exon": 11, "hgvs_p": "p.Trp557_Lys558del", "date": "2021-12-01"},
            {
                "gene": "KIT",
                "exon": 17,
                "hgvs_p": "p.Asn822Lys",
                "date": "2025-02-01",
                "specimen": "plasma",
            },
        ],
        "therapy": [IMATINIB_FAILED],
        "drafts": [{"drug": "ripretinib", "mg": 150}],
    }
    texts = _findings(spec, "gist-sequence-ripretinib-activation-loop")
    secondary = [t for t in texts if "secondary: first seen in plasma (ctDNA)" in t]
    assert secondary and "after progression on imatinib (2025-01-01)" in secondary[0]
    assert not any(
        "no primary genotype on record: by timing alone" in t for t in texts
    )  # exon 11 primary on record


def test_a_secondary_mutation_without_any_primary_genotype_is_hedged() -> None:
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [
            {
                "gene": "KIT",
                "exon": 17,
                "hgvs_p": "p.Asn822Lys",
                "date": "2025-02-01",
                "specimen": "tissue",
            },
        ],
        "therapy": [IMATINIB_FAILED],
        "drafts": [{"drug": "ripretinib", "mg": 150}],
    }
    texts = _findings(spec, "gist-sequence-ripretinib-activation-loop")
    assert any("first seen in tissue after progression" in t for t in texts)
    assert any("no primary genotype on record: by timing alone" in t for t in texts)


def test_a_primary_driver_first_genotyped_after_treatment_stays_primary_with_a_hedge() -> None:
    # KIT exon 9 first genotyped on a tissue specimen taken a year into imatinib 400 mg: still the
    # primary genotype (the 800 mg card fires), and the card says how late it was genotyped.
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [
            {
                "gene": "KIT",
                "exon": 9,
                "hgvs_p": "p.Ala502_Tyr503dup",
                "date": "2023-02-01",
                "specimen": "tissue",
            },
        ],
        "therapy": [{"drug": "imatinib", "start": "2022-01-01", "mg": 400}],
    }
    texts = _findings(spec, "gist-kit-exon9-imatinib-800", hook="patient-view")
    hedge = [t for t in texts if "first genotyped in tissue after imatinib start" in t]
    assert hedge and "kept as the primary genotype" in hedge[0]


def test_no_hedge_when_the_genotype_predates_treatment() -> None:
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [
            {"gene": "KIT", "exon": 9, "hgvs_p": "p.Ala502_Tyr503dup", "date": "2021-12-01"}
        ],
        "therapy": [{"drug": "imatinib", "start": "2022-01-01", "mg": 400}],
    }
    texts = _findings(spec, "gist-kit-exon9-imatinib-800", hook="patient-view")
    assert not any("first genotyped" in t for t in texts)
