"""Exon and hotspot from HGVS: the parser, the cited exon table and the mapping.

The anchor variants are the test oracles of the issue (KIT and PDGFRA variants whose exon the
GIST literature states); each is checked in several notations a lab may send.
"""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mapping import map_prefetch
from fhir_mapping.exons import exon_table, locate
from rules.genotype import parse_coding, parse_protein
from tests.fhir_mapping.builders import CTX, LOINC, component, concept, obs

HGNC = "http://www.genenames.org"
HGVS = "http://varnomen.hgvs.org"
GENE_IDS = {"KIT": "HGNC:6342", "PDGFRA": "HGNC:8803"}

# (gene, exon, notations): each notation alone must place the variant in the exon.
ANCHORS: list[tuple[str, int, list[str]]] = [
    ("KIT", 9, ["p.A502_Y503dup", "p.(Ala502_Tyr503dup)", "NP_000213.1:p.Ala502_Tyr503dup",
                "c.1504_1509dup", "NM_000222.3:c.1504_1509dup", "NM_000222.3(KIT):c.1504_1509dup"]),
    ("KIT", 11, ["p.W557_K558del", "p.(Trp557_Lys558del)", "NP_000213.1:p.Trp557_Lys558del"]),
    ("KIT", 11, ["p.V559D", "p.Val559Asp", "p.(Val559Asp)", "c.1676T>A", "NM_000222.3:c.1676T>A"]),
    ("KIT", 11, ["p.L576P", "p.Leu576Pro", "NP_000213.1:p.(Leu576Pro)"]),
    ("KIT", 11, ["c.1648-3_1650del", "NM_000222.3:c.1648-3_1650del", "p.549_557del"]),
    ("KIT", 13, ["p.K642E", "p.Lys642Glu", "c.1924A>G"]),
    ("KIT", 13, ["p.V654A", "p.(Val654Ala)", "c.1961T>C"]),
    ("KIT", 14, ["p.T670I", "p.Thr670Ile", "c.2009C>T"]),
    ("KIT", 17, ["p.D816V", "p.Asp816Val", "c.2447A>T", "NM_000222.2:c.2447A>T"]),
    ("KIT", 17, ["p.D820Y", "p.Asp820Tyr"]),
    ("KIT", 17, ["p.N822K", "p.Asn822Lys", "c.2466T>G"]),
    ("KIT", 17, ["p.Y823D", "p.Tyr823Asp"]),
    ("KIT", 18, ["p.A829P", "p.Ala829Pro", "c.2485G>C"]),
    ("PDGFRA", 12, ["p.V561D", "p.Val561Asp", "c.1682T>A"]),
    ("PDGFRA", 12, ["p.S566_E571delinsR", "p.Ser566_Glu571delinsArg"]),
    ("PDGFRA", 14, ["p.N659K", "p.Asn659Lys", "c.1977C>A"]),
    ("PDGFRA", 18, ["p.D842V", "p.Asp842Val", "p.(Asp842Val)", "NP_006197.1:p.Asp842Val",
                    "c.2525A>T", "NM_006206.4:c.2525A>T", "ENST00000257290.5:c.2525A>T"]),
    ("PDGFRA", 18, ["p.D842_H845del", "p.Asp842_His845del"]),
    ("PDGFRA", 18, ["p.I843_D846del", "p.Ile843_Asp846del", "NP_006197.1:p.(Ile843_Asp846del)"]),
]  # fmt: skip


def _case_ids() -> list[Any]:
    return [
        pytest.param(gene, exon, text, id=f"{gene}-ex{exon}-{text}")
        for gene, exon, texts in ANCHORS
        for text in texts
    ]


@pytest.mark.parametrize(("gene", "exon", "text"), _case_ids())
def test_anchor_variant_lands_in_its_exon(gene: str, exon: int, text: str) -> None:
    is_coding = "c." in text
    located = locate(gene, text if is_coding else None, None if is_coding else text, None)
    assert located.problems == ()
    assert located.exon == exon


def test_table_derivation_matches_independent_published_positions() -> None:
    kit, pdgfra = exon_table()["KIT"], exon_table()["PDGFRA"]
    assert (len(kit.exons), len(pdgfra.exons)) == (21, 23)  # NCBI Gene; Kawagishi 1995
    # Exon 1/2 junction of KIT: c.67 at 54658081, c.68 at 54695512 (GRCh38, Ensembl 100).
    assert (kit.exons[0].c_last, kit.exons[0].genomic["grch38"][1]) == (67, 54658081)
    assert (kit.exons[1].c_first, kit.exons[1].genomic["grch38"][0]) == (68, 54695512)
    # NM_000222.2:c.2394C>T at GRCh37 4:55599268 is annotated exon 17/21 (public VEP output).
    seventeen = kit.exons[16]
    start37 = seventeen.genomic["grch37"][0]
    assert seventeen.c_first + (55599268 - start37) == 2394
    # NM_006206.5:c.1701A>G at GRCh37 4:55141055 is annotated exon 12/23 (public VEP output).
    twelve = pdgfra.exons[11]
    assert twelve.c_first + (55141055 - twelve.genomic["grch37"][0]) == 1701
    # Lab amplicons of the Michigan Medicine KIT exon 9/11/13/17 assay lie in those exons.
    amplicons = {9: (497, 513), 11: (550, 591), 13: (628, 661), 17: (799, 823)}
    for exon, (first, last) in amplicons.items():
        codons = kit.codons(kit.exons[exon - 1])
        assert codons is not None and codons[0] <= first and last <= codons[1], exon


def test_coding_equivalences_agree_with_codon_arithmetic() -> None:
    for table in exon_table().values():
        for c_text, p_short in table.coding_equivalents.items():
            coding = parse_coding(c_text)
            protein = parse_protein(f"p.{p_short}")
            assert coding is not None and protein is not None
            span = coding.coding_span()
            assert span is not None
            assert (span[0] + 2) // 3 == protein.start, (c_text, p_short)


def test_d842v_given_only_in_c_notation_is_the_hotspot() -> None:
    located = locate("PDGFRA", "NM_006206.4:c.2525A>T", None, None)
    assert (located.exon, located.hotspot) == (18, "D842V")


def test_c_on_another_transcript_is_not_placed() -> None:
    # KIT isoform 2 (NM_001093772) is numbered differently: no exon, no hotspot from it.
    located = locate("KIT", "NM_001093772.1:c.1504_1509dup", None, None)
    assert (located.exon, located.hotspot) == (None, None)


def test_intronic_and_utr_changes_get_no_exon() -> None:
    assert locate("KIT", "c.1774+1G>A", None, None).exon is None
    assert locate("KIT", "c.-14C>T", None, None).exon is None


def test_deletion_across_the_intron_10_exon_11_junction_is_exon_11() -> None:
    # Corless 2004: g.55593576_55593606del (GRCh37) -> p.549_557del.
    assert locate("KIT", None, None, None, "NC_000004.11:g.55593576_55593606del").exon == 11
    assert locate("KIT", "c.1648-6_1674del", None, None).exon == 11


def test_genomic_substitution_gives_exon_and_hotspot() -> None:
    located = locate("PDGFRA", None, None, None, "NC_000004.11:g.55152093A>T")
    assert (located.exon, located.hotspot) == (18, "D842V")
    located = locate("KIT", None, None, None, "NC_000004.12:g.54733155A>T")
    assert (located.exon, located.hotspot) == (17, "D816V")


def test_genomic_without_a_chromosome_accession_is_not_placed() -> None:
    assert locate("KIT", None, None, None, "g.55599321A>T").exon is None


def test_reported_exon_that_contradicts_hgvs_is_a_problem_and_not_used() -> None:
    located = locate("PDGFRA", None, "p.D842V", 12)
    assert (located.exon, located.hotspot) == (None, None)
    assert [k for k, _ in located.problems] == ["exon-hgvs-conflict"]


def test_c_and_p_naming_different_variants_is_a_problem() -> None:
    located = locate("PDGFRA", "c.2525A>T", "p.V561D", None)
    assert located.hotspot is None and located.exon is None
    assert located.problems


def test_unreadable_hgvs_is_reported() -> None:
    located = locate("KIT", "c.exon11del", None, 11)
    assert located.exon == 11
    assert [k for k, _ in located.problems] == ["hgvs-unreadable"]


# --- through the FHIR mapping -------------------------------------------------------------------


def _variant(gene: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return obs(
        "v1",
        "69548-6",
        valueCodeableConcept=concept(LOINC, "LA9633-4"),
        component=[
            component("48018-6", valueCodeableConcept=concept(HGNC, GENE_IDS[gene], gene)),
            *parts,
        ],
    )


def _hgvs_c(text: str) -> dict[str, Any]:
    return component("48004-6", valueCodeableConcept=concept(HGVS, text))


def _hgvs_p(text: str) -> dict[str, Any]:
    return component("48005-3", valueCodeableConcept=concept(HGVS, text))


def test_mapping_exon_9_duplication_from_c_only() -> None:
    result = map_prefetch({"o": _variant("KIT", _hgvs_c("NM_000222.3:c.1504_1509dup"))}, CTX)
    (marker,) = result.patient.biomarkers
    assert marker.exon == 9


def test_mapping_exon_9_duplication_from_p_as_value_string() -> None:
    part = component("48005-3", valueString="p.(Ala502_Tyr503dup)")
    (marker,) = map_prefetch({"o": _variant("KIT", part)}, CTX).patient.biomarkers
    assert marker.exon == 9


def test_mapping_d842v_from_c_only() -> None:
    result = map_prefetch({"o": _variant("PDGFRA", _hgvs_c("NM_006206.4:c.2525A>T"))}, CTX)
    assert result.patient.has_hotspot("PDGFRA", "D842V")
    assert result.patient.biomarkers[0].exon == 18


def test_mapping_conflicting_exon_component_is_an_issue() -> None:
    region = component("47999-8", valueString="exon 12")
    result = map_prefetch({"o": _variant("PDGFRA", _hgvs_p("p.Asp842Val"), region)}, CTX)
    (marker,) = result.patient.biomarkers
    assert marker.exon is None and marker.hotspot is None
    assert "exon-hgvs-conflict" in {i.kind for i in result.issues}


# --- negatives and the regions they cover --------------------------------------------------------


def _negative(*genes: str, regions: str | None = None) -> dict[str, Any]:
    parts = [
        component("48018-6", valueCodeableConcept=concept(HGNC, GENE_IDS[g], g)) for g in genes
    ]
    if regions is not None:
        parts.append(component("47999-8", valueString=regions))
    return obs("n1", "69548-6", valueCodeableConcept=concept(LOINC, "LA9634-2"), component=parts)


def test_panel_negative_with_regions_gives_one_negative_per_gene_and_exon() -> None:
    raw = _negative("KIT", "PDGFRA", regions="KIT exons 9, 11, 13 and 17; PDGFRA exons 12, 14, 18")
    markers = map_prefetch({"o": raw}, CTX).patient.biomarkers
    assert sorted((m.gene.symbol, m.exon) for m in markers) == [
        ("KIT", 9), ("KIT", 11), ("KIT", 13), ("KIT", 17),
        ("PDGFRA", 12), ("PDGFRA", 14), ("PDGFRA", 18),
    ]  # fmt: skip


def test_single_gene_negative_with_an_exon_range() -> None:
    markers = map_prefetch({"o": _negative("KIT", regions="exons 9-11")}, CTX).patient.biomarkers
    assert sorted(m.exon for m in markers if m.exon is not None) == [9, 10, 11]


def test_negative_without_regions_has_unknown_coverage() -> None:
    markers = map_prefetch({"o": _negative("KIT", "PDGFRA")}, CTX).patient.biomarkers
    assert [m.exon for m in markers] == [None, None]


def test_regions_without_gene_names_on_a_two_gene_negative_are_not_guessed() -> None:
    markers = map_prefetch({"o": _negative("KIT", "PDGFRA", regions="exons 9, 11")}, CTX)
    assert [m.exon for m in markers.patient.biomarkers] == [None, None]
