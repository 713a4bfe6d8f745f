"""Cheap pre-filter on raw medication resources, run before anything else reads them.

A real oncology record carries far more supportive medications (antiemetics, growth factors,
analgesics, antibiotics ...) than cancer drugs. A medication that neither the drug table nor
the drug-products table can identify, and that is not an unknown cancer drug the mapping must
report, produces nothing: no fact, no issue. :func:`may_matter` tells those apart with set
lookups and a word split, so that such a medication costs about as little as an unrelated lab.

It is a *necessary condition* for :func:`fhir_mapping.medications.identify` and
:func:`fhir_mapping.medications.looks_antineoplastic`, derived from the tables at load time
(never a hand list), so it follows every drug, code, name and brand added to them:

* every key of every ``by_*`` index of :func:`~fhir_mapping.tables.drug_table` and
  :func:`~fhir_mapping.products.product_table` (RxNorm ingredient, clinical and branded drug
  codes, ATC codes, generic names, brands) and every row's codes, names and product names;
  a coding whose code is one of them (system ignored: a superset) is kept;
* any ATC L01 code, and the mCODE cancer-related medication profile, are kept (the
  "medication-not-identified" report needs them);
* a concept text or coding display is kept when one of its words is the first word of a
  name (names match as whole words, so a name in a text brings its first word);
* anything else the medication mapping reports an issue on is kept without a look:
  ``medicationReference`` (resolution), no ``medicationCodeableConcept`` object, elements of
  another FHIR version.

Draft orders are never filtered (an order that could not be checked must be named).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from fhir_mapping.medications import MEDICATION_TYPES
from fhir_mapping.name_scan import ASCII_WORDS
from fhir_mapping.parse import OTHER_VERSION_ELEMENTS
from fhir_mapping.products import product_table
from fhir_mapping.tables import drug_table

_WORD = re.compile(r"\w+")
_CANCER_PROFILE = "mcode-cancer-related-medication-request"
_REFERENCE = frozenset({"medicationReference"})
#: Per resource type: ``medicationReference`` and the elements of another FHIR version.
_REFERENCE_OR_MARKERS = {
    rtype: markers | _REFERENCE for rtype, markers in OTHER_VERSION_ELEMENTS.items()
}
_ANTINEOPLASTIC_ATC = "L01"
#: Per medication type: the top-level elements other than ``medicationCodeableConcept`` that
#: :func:`may_matter` reads (``medicationReference``, elements of another FHIR version,
#: ``meta``). With none of them, and a concept that is a JSON object holding only a ``text``,
#: the answer is the text's alone: :func:`fhir_mapping.prefilter.sift` drops the other orders
#: of a supportive medication by the answer ``names`` holds for its text.
READ_BESIDES_CONCEPT = {
    rtype: _REFERENCE_OR_MARKERS.get(rtype, _REFERENCE) | {"meta"} for rtype in MEDICATION_TYPES
}


@dataclasses.dataclass(frozen=True, slots=True)
class Vocabulary:
    #: Every code and name of the tables, stripped, as given and upper-cased.
    codes: frozenset[str]
    #: First word (lower case) of every name, brand and product name.
    first_words: frozenset[str]
    #: False if some name has no word at all: texts are then always kept.
    words_complete: bool
    #: The ASCII ones among ``first_words``, as bytes (for ASCII text).
    ascii_first_words: frozenset[bytes] = frozenset()


def _index_keys(table: Any) -> Iterable[str]:
    for item in dataclasses.fields(table):
        value = getattr(table, item.name)
        if item.name.startswith("by_") and isinstance(value, Mapping):
            yield from (str(key) for key in value)


@cache
def vocabulary() -> Vocabulary:
    drugs, products = drug_table(), product_table()
    keys: set[str] = {*_index_keys(drugs), *_index_keys(products)}
    for drug in drugs.drugs:
        keys.update(drug.rxnorm, drug.atc, drug.names)
        keys.update(value for value in (drug.agent.rxnorm, drug.agent.atc) if value)
    for product in products.by_rxnorm.values():
        keys.update(value for value in (product.rxnorm, product.name, product.brand) if value)
    codes = {key.strip() for key in keys} | {key.strip().upper() for key in keys}
    first_words: set[str] = set()
    complete = True
    for key in keys:
        words = _WORD.findall(key.lower())
        if words:
            first_words.add(words[0])
        else:
            complete = False
    ascii_words = frozenset(word.encode("ascii") for word in first_words if word.isascii())
    return Vocabulary(frozenset(codes), frozenset(first_words), complete, ascii_words)


def _text_may_name(text: Any, vocab: Vocabulary) -> bool:
    if not isinstance(text, str) or not text.strip():
        return False
    if not vocab.words_complete:
        return True
    if text.isascii():
        # The same words as _WORD, lower-cased (about a third of the regular expression's cost).
        words = text.encode("ascii").translate(ASCII_WORDS).split()
        return not vocab.ascii_first_words.isdisjoint(words)
    return not vocab.first_words.isdisjoint(_WORD.findall(text.lower()))


def _named(text: Any, vocab: Vocabulary, names: dict[str, bool] | None) -> bool:
    """:func:`_text_may_name`, looked up in ``names`` first (and stored there)."""
    if names is None or type(text) is not str:
        return _text_may_name(text, vocab)
    found = names.get(text)
    if found is None:
        found = names[text] = _text_may_name(text, vocab)
    return found


def may_matter(raw: Mapping[str, Any], names: dict[str, bool] | None = None) -> bool:
    """False only for a medication resource the mapping would read as nothing at all (no fact,
    no issue): skipped before validation. ``raw`` is a MedicationRequest/MedicationStatement.

    ``names``: one dict per call, text -> whether it may name a drug, so that the orders of one
    supportive medication, repeated through a record, have their name read once (held for the
    call only, like the mapping's other per-call memos).

    Each test below only ever answers True, so their order does not change the answer; the
    cheapest come first (the concept's text, looked up in ``names``, then plain member tests),
    and the tables' vocabulary is fetched only when a text or a coding is read."""
    concept = raw.get("medicationCodeableConcept")
    if type(concept) is not dict:
        return True
    text = concept.get("text")
    if names is not None and type(text) is str:  # (_named, inlined: once per order)
        named = names.get(text)
        if named is None:
            named = names[text] = _text_may_name(text, vocabulary())
        if named:
            return True
    elif text is not None and _text_may_name(text, vocabulary()):
        return True
    rtype = raw.get("resourceType")
    if not raw.keys().isdisjoint(
        _REFERENCE_OR_MARKERS.get(rtype if type(rtype) is str else str(rtype), _REFERENCE)
    ):
        return True  # a medicationReference, or elements of another FHIR version
    coding = concept.get("coding")
    if coding is not None and isinstance(coding, list):
        vocab = vocabulary()
        codes = vocab.codes
        for item in coding:
            if type(item) is not dict:
                if isinstance(item, Mapping):
                    return True  # not plain JSON: let the mapping judge
                continue
            code = item.get("code")
            if isinstance(code, str):
                stripped = code.strip()
                upper = stripped.upper()
                if stripped in codes or upper in codes or upper.startswith(_ANTINEOPLASTIC_ATC):
                    return True
            if _named(item.get("display"), vocab, names):
                return True
    meta = raw.get("meta")
    if meta is not None and isinstance(meta, Mapping):  # (no ABC check for an absent meta)
        profiles = meta.get("profile")
        if isinstance(profiles, list) and any(
            isinstance(p, str) and p.endswith(_CANCER_PROFILE) for p in profiles
        ):
            return True
    return False


__all__ = ["Vocabulary", "may_matter", "vocabulary"]
