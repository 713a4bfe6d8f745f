"""One test per upstream data defect of clinical-coding.md §1.5 (plus §1.6's 78205-2)."""

from __future__ import annotations

from fhir_mapping import map_prefetch
from rules.patient import BiomarkerKind, ResultValue
from tests.fhir_mapping.builders import CTX, LOINC, bundle, component, concept, obs

HGNC = "http://www.genenames.org"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def test_swapped_gene_displays_are_resolved_by_code() -> None:
    # MC4 gx-genomic-variant-pertinent-negative-nras-kit-braf: HGNC:6342 "NRAS", HGNC:7989 "KIT".
    negative = obs(
        "pn",
        "69548-6",
        valueCodeableConcept=concept(LOINC, "LA9634-2", "Absent"),
        component=[
            component("48018-6", valueCodeableConcept=concept(HGNC, "HGNC:6342", "NRAS")),
            component("48018-6", valueCodeableConcept=concept(HGNC, "HGNC:7989", "KIT")),
            component("48018-6", valueCodeableConcept=concept(HGNC, "HGNC:1097", "BRAF")),
        ],
    )
    result = map_prefetch({"obs": bundle(negative)}, CTX)
    by_symbol = {b.gene.symbol: b for b in result.patient.biomarkers}
    assert set(by_symbol) == {"KIT", "NRAS", "BRAF"}
    assert by_symbol["KIT"].gene.hgnc_id == "HGNC:6342"
    assert by_symbol["NRAS"].gene.hgnc_id == "HGNC:7989"
    assert all(b.result is ResultValue.ABSENT for b in by_symbol.values())
    assert all(b.kind is BiomarkerKind.VARIANT for b in by_symbol.values())
    mismatches = [i for i in result.issues if i.kind == "gene-display-mismatch"]
    assert len(mismatches) == 2
    assert result.patient.tested_negative("KIT")


def test_c_hgvs_in_genomic_hgvs_slot_is_read_as_c_hgvs() -> None:
    variant = obs(
        "v",
        "69548-6",
        valueCodeableConcept=concept(LOINC, "LA9633-4"),
        component=[
            component("48018-6", valueCodeableConcept=concept(HGNC, "HGNC:6342")),
            component(
                "81290-9",
                valueCodeableConcept=concept("http://varnomen.hgvs.org", "NM_000222.2:c.1669T>C"),
            ),
        ],
    )
    result = map_prefetch({"obs": variant}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert biomarker.hgvs_c == "NM_000222.2:c.1669T>C"
    assert biomarker.hgvs_g is None
    assert [i.kind for i in result.issues] == ["hgvs-slot-mismatch"]


def test_malformed_icdo3_morphology_is_not_guessed() -> None:
    # MC4 EX_Basic uses 80463/3; the sarcoma analogue 89363/3 must not become GIST.
    for code in ("80463/3", "89363/3"):
        condition = {
            "resourceType": "Condition",
            "id": "c",
            "subject": {"reference": "Patient/p1"},
            "code": concept(ICDO3, code),
        }
        result = map_prefetch({"c": condition}, CTX)
        assert result.patient.diagnoses == ()
        assert [i.kind for i in result.issues] == ["unparseable-code"]


def test_histology_observation_with_typo_code_reports_issue() -> None:
    histology = obs("h", "31206-6", valueCodeableConcept=concept(ICDO3, "80463/3"))
    result = map_prefetch({"o": histology}, CTX)
    assert result.patient.diagnoses == ()
    assert [i.kind for i in result.issues] == ["unparseable-code"]


def test_alk_fish_code_check_digit_is_2_not_1() -> None:
    right = obs("a", "78205-2", valueCodeableConcept=concept(LOINC, "LA9633-4"))
    wrong = obs("b", "78205-1", valueCodeableConcept=concept(LOINC, "LA9633-4"))
    result = map_prefetch({"o": bundle(right, wrong)}, CTX)
    assert [b.source_ref for b in result.patient.biomarkers] == ["Observation/a"]
    assert result.patient.has_fusion("ALK")
