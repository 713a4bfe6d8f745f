"""Gene resolution: by HGNC code first, symbol only as a fallback (displays can be wrong)."""

from __future__ import annotations

from typing import Any

from fhir_mapping.codes import HGNC, concept_codes, concept_text, normalise_hgnc
from fhir_mapping.tables import gene_table
from rules.patient import Gene


def gene_from_concept(concept: Any) -> tuple[Gene | None, str | None]:
    """The gene named by a CodeableConcept, and a problem text if its display disagrees."""
    table = gene_table()
    for code in concept_codes(concept):
        if code.system != HGNC:
            continue
        hgnc_id = normalise_hgnc(code.code)
        if hgnc_id is None:
            continue
        display = (code.display or "").strip().upper()
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
    candidates = [c.display for c in concept_codes(concept) if c.display]
    text = concept_text(concept)
    if text:
        candidates.append(text)
    for candidate in candidates:
        symbol = candidate.strip().upper()
        if symbol in table.by_symbol:
            return table.by_symbol[symbol], None
    return None, None
