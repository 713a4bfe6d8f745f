"""A Condition's wording is searched for a sarcoma hint (histology.SARCOMA_HINT) only when an
ASCII text holds one of the pattern's words: the answer is the search's on any text."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mapping import histology, map_prefetch
from tests.fhir_mapping.builders import CTX, bundle

#: Pieces of wording: the pattern's words in several cases, their neighbours, and characters
#: that fold to ASCII letters under IGNORECASE (long s, Kelvin sign, dotted capital I).
PIECES = st.sampled_from(
    [
        "sarcoma",
        "SARCOMA",
        "Sarc",
        "oma",
        "GIST",
        "gist",
        "Gist",
        "GISTs",
        "UPS",
        "ups",
        "Ups",
        "xUPS",
        "small round cell",
        "small  round cell",
        "nerve sheath",
        "tendon",
        " sheath",
        "PEComa",
        "DFSP",
        "desmoid",
        "Essential hypertension",
        "Reflux disease",
        "\u017farcoma",  # long s: matches "s" under IGNORECASE
        "\u212a",  # Kelvin sign
        "\u0130",
        "\u00e9",
        " ",
        "-",
        "_",
        "1",
        "",
    ]
)
TEXTS = st.lists(PIECES, max_size=6).map("".join) | st.text(max_size=12)


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
@example("\u017farcoma of the thigh")
@example("Leiomyo-SARCOMA")
@example("UPS")
@example("ups")
def test_the_hint_is_the_search(text: str) -> None:
    assert histology.hints_sarcoma(text) == bool(histology.SARCOMA_HINT.search(text))


def test_every_alternative_of_the_pattern_has_its_word() -> None:
    # A word added to the pattern without its entry in _HINT_WORDS would be missed on ASCII text.
    for alternative in histology.SARCOMA_HINT.pattern.split("|"):
        literal = re.sub(r"\\b|\(\?-i:|\)", "", alternative).lower()
        assert literal in histology._HINT_WORDS, alternative


def test_a_comorbidity_is_no_diagnosis_and_a_sarcoma_in_words_is_read() -> None:
    def condition(cid: str, text: str) -> dict[str, object]:
        return {
            "resourceType": "Condition",
            "id": cid,
            "subject": {"reference": "Patient/p1"},
            "code": {"text": text},
        }

    result = map_prefetch(
        {
            "conditions": bundle(
                condition("htn", "Essential hypertension"),
                condition("lms", "Leiomyosarcoma of the uterus"),
            )
        },
        CTX,
    )
    assert [d.source_ref for d in result.patient.diagnoses] == ["Condition/lms"]
