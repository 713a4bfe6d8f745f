"""Gene resolution: by HGNC code first, symbol only as a fallback (displays can be wrong)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import HGNC, as_str, normalise_hgnc, normalise_system
from fhir_mapping.tables import gene_table
from rules.patient import Gene

#: The JSON types that are not objects (as in :mod:`fhir_mapping.codes`: ``type(x) is dict``
#: first, the Mapping ABC's ``isinstance`` only for other types).
JSON_SCALARS = frozenset({type(None), str, list, int, float, bool})


@functools.cache
def _table_ids() -> frozenset[str]:
    """HGNC ids of the gene table that :func:`normalise_hgnc` returns unchanged (all of them:
    ``HGNC:`` and digits), so that a coding carrying one exactly needs no regular expression."""
    return frozenset(k for k in gene_table().by_hgnc if k and normalise_hgnc(k) == k)


def gene_from_concept(concept: Any) -> tuple[Gene | None, str | None]:
    """The gene named by a CodeableConcept, and a problem text if its display disagrees.

    Reads the codings as :func:`fhir_mapping.codes.concept_codes` does (a system and a code,
    both non-blank; systems normalised) without building a ``Code`` per coding: every gene
    component of every variant is resolved here.
    """
    if not (
        type(concept) is dict
        or (type(concept) not in JSON_SCALARS and isinstance(concept, Mapping))
    ):
        return None, None
    table = gene_table()
    displays: list[str] = []  # for the fallback: every coding's display, in order
    items = concept.get("coding")
    if isinstance(items, list):
        exact = _table_ids()
        for coding in items:
            if not (
                type(coding) is dict
                or (type(coding) not in JSON_SCALARS and isinstance(coding, Mapping))
            ):
                continue
            system = coding.get("system")
            code = coding.get("code")
            if not (
                isinstance(system, str)
                and isinstance(code, str)
                and system.strip()
                and (stripped := code.strip())
            ):
                continue
            display_text = as_str(coding.get("display"))
            if display_text:
                displays.append(display_text)
            if normalise_system(system) != HGNC:
                continue
            hgnc_id = stripped if stripped in exact else normalise_hgnc(stripped)
            if hgnc_id is None:
                continue
            display = (display_text or "").strip().upper()
            known = table.by_hgnc.get(hgnc_id)
            if known is not None:
                problem = None
                if display and display != known.symbol.upper() and display in table.by_symbol:
                    problem = (
                        f"gene display {display} does not match {hgnc_id} ({known.symbol}); "
                        "the code was used"
                    )
                return known, problem
            if display and display not in table.by_symbol and display.replace("-", "").isalnum():
                return Gene(symbol=display, hgnc_id=hgnc_id), None
            return Gene(symbol=hgnc_id, hgnc_id=hgnc_id), None
    # Fallback: a known symbol in a display or text (no HGNC coding at all).
    text = as_str(concept.get("text"))
    if text:
        displays.append(text)
    for candidate in displays:
        symbol = candidate.strip().upper()
        if symbol in table.by_symbol:
            return table.by_symbol[symbol], None
    return None, None
