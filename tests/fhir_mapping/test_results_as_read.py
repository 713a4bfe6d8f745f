"""The last step of the mapping leaves the findings as read when nothing can change them.

``regions.apply`` without any region list or report, and ``specimens.apply`` without any
Specimen or report, answer the findings as they are; the general loops give the same answer,
run here with a region list and a Specimen that concern none of the findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import regions, specimens
from rules.patient import (
    Biomarker,
    BiomarkerKind,
    Code,
    Gene,
    ResultValue,
    SpecimenKind,
)

_REFS = st.sampled_from(["Observation/gen-0", "Observation/gen-1", "Observation/x"])
BIOMARKERS = st.builds(
    Biomarker,
    gene=st.sampled_from([Gene("KIT", "HGNC:6342"), Gene("PDGFRA", "HGNC:8803")]),
    kind=st.sampled_from(list(BiomarkerKind)),
    result=st.sampled_from(list(ResultValue)),
    source_ref=_REFS,
    code=st.just(Code("http://loinc.org", "69548-6")),
    exon=st.sampled_from([None, 11, 17]),
    hotspot=st.sampled_from([None, "D842V"]),
    specimen=st.sampled_from(list(SpecimenKind)),
    specimen_ref=st.sampled_from([None, "Specimen/s1", "Specimen/s2"]),
)

#: A region list and a Specimen that concern none of the findings above.
_UNRELATED_LIST = regions.RegionList(
    source_ref="Observation/panel",
    exons={"KIT": (9, 11)},
    genes={"KIT": Gene("KIT", "HGNC:6342")},
    code=Code("http://loinc.org", "53041-0"),
    members=frozenset({"Observation/elsewhere"}),
)
_UNRELATED_SPECIMENS = {"Specimen/elsewhere": SpecimenKind.TISSUE}


@settings(max_examples=300, deadline=None)
@given(st.lists(BIOMARKERS, max_size=6))
def test_without_region_lists_the_findings_are_as_read(found: list[Biomarker]) -> None:
    answer = regions.apply(found, regions.Regions())
    assert answer == found
    assert answer == regions.apply(found, regions.Regions(lists=[_UNRELATED_LIST]))


@settings(max_examples=300, deadline=None)
@given(st.lists(BIOMARKERS, max_size=6))
def test_without_specimens_or_reports_the_findings_are_as_read(found: list[Biomarker]) -> None:
    answer = specimens.apply(found, {}, [])
    assert answer == found
    assert answer == specimens.apply(found, _UNRELATED_SPECIMENS, [])
