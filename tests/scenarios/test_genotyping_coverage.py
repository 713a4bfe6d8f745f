"""Which regions a negative KIT/PDGFRA result covers, when the panel's region list is in a
RegionStudied Observation (LOINC 53041-0) or in the genomics DiagnosticReport."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with

GIST = [b.condition("gist"), b.metastasis("liver")]


def _region_studied(rid: str, gene: str, regions: str) -> dict[str, Any]:
    obs = b.negative(gene, id=rid)
    obs["code"] = {"coding": [{"system": b.LOINC, "code": "53041-0"}]}
    del obs["valueCodeableConcept"]
    obs["component"].append(
        {"code": {"coding": [{"system": b.LOINC, "code": "81293-3"}]}, "valueString": regions}
    )
    return obs


def _report(rid: str, results: list[str], conclusion: str | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "subject": b.subject(),
        "code": {"coding": [{"system": b.LOINC, "code": "51969-4"}]},
        "effectiveDateTime": "2025-03-01",
        "result": [{"reference": r} for r in results],
    }
    if conclusion:
        report["conclusion"] = conclusion
    return report


def _with_reports(body: dict[str, Any], reports: list[dict[str, Any]]) -> dict[str, Any]:
    body["prefetch"]["reports"] = b.searchset(reports)
    return body


def test_region_studied_observations_in_the_report_make_a_full_panel_wild_type(cds):
    negative = b.negative("KIT", "PDGFRA", id="panel-neg")
    kit = _region_studied("rs-kit", "KIT", "KIT exons 9, 11, 13, 17")
    pdgfra = _region_studied("rs-pdgfra", "PDGFRA", "exons 12, 14, 18")
    report = _report(
        "panel", ["Observation/panel-neg", "Observation/rs-kit", "Observation/rs-pdgfra"]
    )
    body = b.patient_view(conditions=GIST, genomics=[negative, kit, pdgfra])
    cards = cds(_with_reports(body, [report]))
    card_with(cards, "wild-type", indicator="warning")
    no_card_with(cards, "genotype missing or incomplete")


def test_region_list_without_pdgfra_exons_names_them_on_the_incomplete_card(cds):
    negative = b.negative("KIT", "PDGFRA", id="panel-neg")
    kit = _region_studied("rs-kit", "KIT", "KIT exons 9, 11, 13, 17")
    pdgfra = _region_studied("rs-pdgfra", "PDGFRA", "PDGFRA exon 18")
    report = _report(
        "panel", ["Observation/panel-neg", "Observation/rs-kit", "Observation/rs-pdgfra"]
    )
    body = b.patient_view(conditions=GIST, genomics=[negative, kit, pdgfra])
    cards = cds(_with_reports(body, [report]))
    no_card_with(cards, "wild-type")
    card = card_with(cards, "genotype missing or incomplete", indicator="warning")
    assert "Not yet covered by a negative result: PDGFRA exons 12, 14;" in card["detail"]


def test_report_conclusion_with_the_regions_counts_for_exactly_those(cds):
    conclusion = "KIT exons 9, 11, 13, 17; PDGFRA exons 12, 14, 18: no mutation detected."
    cards = cds(_with_reports(b.patient_view(conditions=GIST), [_report("ngs", [], conclusion)]))
    card_with(cards, "wild-type", indicator="warning")

    partial = "KIT exons 11 and 13 sequenced. No mutation detected."
    cards = cds(_with_reports(b.patient_view(conditions=GIST), [_report("ngs", [], partial)]))
    no_card_with(cards, "wild-type")
    card = card_with(cards, "genotype missing or incomplete")
    assert "KIT exons 9, 17" in card["detail"] and "PDGFRA exons 12, 14, 18" in card["detail"]


def test_a_report_that_finds_a_variant_is_not_read_as_negative(cds):
    conclusion = "KIT exons 9, 11, 13, 17 sequenced. KIT exon 11 deletion detected."
    cards = cds(_with_reports(b.patient_view(conditions=GIST), [_report("ngs", [], conclusion)]))
    no_card_with(cards, "wild-type")
