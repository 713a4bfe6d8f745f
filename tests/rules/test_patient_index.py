"""The patient's gene index finds exactly the biomarkers a scan of every biomarker finds."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import Patient
from rules.patient import Biomarker, Confidence
from tests.rules.test_rule_index import PATIENTS


def _reference(patient: Patient, gene: str, text_derived: bool) -> tuple[Biomarker, ...]:
    return tuple(
        b
        for b in patient.biomarkers
        if b.involves(gene) and (text_derived or b.confidence is Confidence.CODED)
    )


@pytest.mark.parametrize(("name", "patient", "as_of"), PATIENTS, ids=[p[0] for p in PATIENTS])
def test_gene_index_finds_what_a_scan_finds(name: str, patient: Patient, as_of: dt.date) -> None:
    asked = {"KIT", "kit", "hgnc:6342", "HGNC:8803", "NTRK", "", "BRAF", "alk"}
    for biomarker in patient.biomarkers:
        for gene in biomarker.genes:
            asked |= {gene.symbol, gene.symbol.lower(), gene.hgnc_id or "x"}
    for gene in sorted(asked):
        for text_derived in (False, True):
            assert patient.biomarkers_for_gene(
                gene, include_text_derived=text_derived
            ) == _reference(patient, gene, text_derived)
        assert patient.driver_biomarkers(gene) == tuple(
            b for b in patient.biomarkers if b.is_tumour_driver_candidate and b.involves(gene)
        )
