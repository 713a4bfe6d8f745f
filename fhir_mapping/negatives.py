"""Pertinent negatives and the regions they cover.

A negative KIT/PDGFRA result means "no variant in the regions tested". Labs state those regions
in a DNA-region component (LOINC 47999-8) such as ``KIT exons 9, 11, 13, 17; PDGFRA exons 12,
14, 18``. Each (gene, exon) stated becomes its own negative finding, so the rules can tell a
complete panel from a single-exon test; a negative that states no region stays one finding
per gene, with no exon (coverage unknown).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rules.patient import Gene

_TOKEN = re.compile(
    r"(?P<gene>\b[A-Z][A-Z0-9]{1,9}\b)|(?P<low>\b\d{1,2})\s*[-\u2013]\s*(?P<high>\d{1,2}\b)"
    r"|(?P<num>\b\d{1,2}\b)"
)


def regions_by_gene(texts: Iterable[str], genes: Sequence[Gene]) -> dict[str, list[int]]:
    """Exons stated per gene; numbers before any gene go to the only gene, else are dropped."""
    symbols = {g.symbol.upper(): g.symbol for g in genes}
    only = genes[0].symbol if len(genes) == 1 else None
    out: dict[str, list[int]] = {}
    for text in texts:
        if "exon" not in text.lower():
            continue
        current = only
        for match in _TOKEN.finditer(text):
            if match.group("gene"):
                word = match.group("gene").upper()
                if word in symbols:
                    current = symbols[word]
                continue
            if current is None:
                continue
            if match.group("low"):
                low, high = int(match.group("low")), int(match.group("high"))
                numbers = list(range(low, high + 1)) if 0 < low <= high <= 30 else []
            else:
                numbers = [int(match.group("num"))]
            bucket = out.setdefault(current, [])
            bucket.extend(n for n in numbers if n not in bucket)
    return {gene: sorted(exons) for gene, exons in out.items() if exons}
