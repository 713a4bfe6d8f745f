"""The cheap GIST-risk classification gives the same answer as reading the whole label."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import gist_risk
from fhir_mapping.codes import LOINC, concept_codes, concept_text


def reference_kind(raw: dict[str, Any]) -> str | None:
    """The classification as written before the fast reject: the label of the text and every
    display of a coding with a system and a code."""
    code = raw.get("code")
    if any(c.system == LOINC and c.code == gist_risk.LNC_TUMOUR_SIZE for c in concept_codes(code)):
        return "size"
    label = " ".join([concept_text(code) or "", *(c.display or "" for c in concept_codes(code))])
    if not label.strip():
        return None
    if gist_risk._MITOSES.search(label):
        return "mitoses"
    if gist_risk._RUPTURE.search(label):
        return "rupture"
    if gist_risk._RISK.search(label) and gist_risk._RISK_CONTEXT.search(label):
        return "risk"
    return None


WORDS = st.sampled_from(
    [
        "Mitotic count",
        "mitoses/5 mm2",
        "Tumour RUPTURE",
        "GIST risk",
        "risk",
        "xrisk",
        "risky",
        "AFIP",
        "recurrence",
        "Haemoglobin",
        "",
        " ",
        "Creatinine [Mass/volume]",
        "NIH risk:",
        "M\u0130TOTIC",
        "GIST r\u0131s\u212a",
        "Mito\u017fes",
        "RISK",
    ]
)
TEXT = st.lists(WORDS, max_size=3).map(" ".join) | st.none() | st.integers()
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(["http://loinc.org", "loinc", "", "http://snomed.info/sct"])
        | st.none(),
        "code": st.sampled_from(["21889-1", " 21889-1 ", "718-7", ""]) | st.none(),
        "display": TEXT,
    },
)
CONCEPT = st.fixed_dictionaries(
    {},
    optional={"text": TEXT, "coding": st.lists(CODING | st.integers(), max_size=3) | st.none()},
)


@settings(max_examples=600, deadline=None)
@given(CONCEPT | st.none() | st.text(max_size=3))
def test_kind_matches_reading_the_whole_label(code):
    raw = {"resourceType": "Observation", "code": code}
    assert gist_risk.kind(raw) == reference_kind(raw)
