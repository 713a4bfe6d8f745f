"""Exon of a variant from its HGVS, with the cited table ``data/exons.yaml``.

The table holds codon ranges that a source places in an exon; a position outside every row
gets no exon (never interpolated). A ``c.`` position counts only on the table's transcript
(or its Ensembl twin), a ``p.`` position only on the table's protein or with no accession.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mapping.tables import _load
from rules.genotype import CodingChange, ProteinChange, parse_coding, parse_protein


@dataclass(frozen=True, slots=True)
class Region:
    exon: int
    first: int
    last: int
    source: str


@dataclass(frozen=True, slots=True)
class Transcript:
    gene: str
    transcript: str
    protein: str
    ensembl: tuple[str, ...]
    regions: tuple[Region, ...]
    coding_equivalents: Mapping[str, str]  # normalised c. text -> one-letter p. (D842V)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a change falls: one exon, several (ambiguous), or none known."""

    exons: frozenset[int]
    basis: str  # "c." or "p."

    @property
    def exon(self) -> int | None:
        return next(iter(self.exons)) if len(self.exons) == 1 else None


def _transcript(row: Mapping[str, Any]) -> Transcript:
    regions = tuple(
        Region(int(r["exon"]), int(r["codons"][0]), int(r["codons"][1]), str(r["source"]))
        for r in row["regions"]
    )
    for region in regions:
        if region.first > region.last:
            raise ValueError(f"exons.yaml: {row['gene']} exon {region.exon}: empty codon range")
    return Transcript(
        gene=str(row["gene"]),
        transcript=str(row["transcript"]),
        protein=str(row["protein"]),
        ensembl=tuple(str(e) for e in row.get("ensembl") or ()),
        regions=regions,
        coding_equivalents={str(e["c"]): str(e["p"]) for e in row.get("coding_equivalents") or ()},
    )


@functools.cache
def exon_table() -> Mapping[str, Transcript]:
    """Gene symbol -> transcript row."""
    rows = [_transcript(r) for r in _load("exons.yaml")["transcripts"]]
    return {t.gene: t for t in rows}


def _base(accession: str) -> str:
    return accession.split(".", 1)[0].upper()


def coding_applies(table: Transcript, change: CodingChange) -> bool:
    """A ``c.`` change is read on the table's transcript: named, its Ensembl twin, or none."""
    if change.accession is None:
        return True
    return _base(change.accession) in {table.transcript, *table.ensembl}


def protein_applies(table: Transcript, change: ProteinChange) -> bool:
    if change.accession is None:
        return True
    return _base(change.accession) in {table.protein, *("ENSP" + e[4:] for e in table.ensembl)}


def _place(table: Transcript, first: int, last: int, basis: str) -> Placement:
    exons = frozenset(r.exon for r in table.regions if r.first <= last and first <= r.last)
    return Placement(exons, basis)


def place_protein(gene: str, change: ProteinChange) -> Placement | None:
    table = exon_table().get(gene)
    if table is None or not protein_applies(table, change):
        return None
    return _place(table, change.start, change.end, "p.")


def place_coding(gene: str, change: CodingChange) -> Placement | None:
    table = exon_table().get(gene)
    if table is None or not coding_applies(table, change):
        return None
    span = change.coding_span()
    if span is None:
        return Placement(frozenset(), "c.")
    first, last = span
    return _place(table, (first + 2) // 3, (last + 2) // 3, "c.")


def hotspot_from_coding(gene: str, change: CodingChange) -> str | None:
    """``D842V`` for ``c.2525A>T`` on PDGFRA: only where the table lists the equivalence."""
    table = exon_table().get(gene)
    if table is None or not coding_applies(table, change):
        return None
    return table.coding_equivalents.get(change.notation)


@dataclass(frozen=True, slots=True)
class Located:
    """What the HGVS of one variant says: exon, missense hotspot, and any problems."""

    exon: int | None
    hotspot: str | None
    problems: tuple[tuple[str, str], ...] = ()  # (issue kind, fixed explanation)


def _derived_exon(
    gene: str, coding: CodingChange | None, protein: ProteinChange | None
) -> tuple[int | None, bool]:
    """(exon, conflict) from the c. and p. placements."""
    found = {
        p.basis: p.exon
        for p in (
            place_coding(gene, coding) if coding else None,
            place_protein(gene, protein) if protein else None,
        )
        if p is not None and p.exon is not None
    }
    values = set(found.values())
    if len(values) > 1:
        return None, True
    return (values.pop() if values else None), False


def locate(gene: str, hgvs_c: str | None, hgvs_p: str | None, reported_exon: int | None) -> Located:
    """Exon and hotspot of a variant from its HGVS, checked against a reported exon.

    A reported exon that contradicts the HGVS, or a c. and a p. that disagree, is a problem and
    neither value is acted upon (exon and hotspot stay unknown).
    """
    problems: list[tuple[str, str]] = []
    coding = parse_coding(hgvs_c)
    protein = parse_protein(hgvs_p)
    for text, parsed, label in ((hgvs_c, coding, "coding (c.)"), (hgvs_p, protein, "protein (p.)")):
        if text and parsed is None:
            problems.append(
                ("hgvs-unreadable", f"the {label} HGVS could not be read; no exon inferred from it")
            )
    table = exon_table().get(gene)
    p_hot = protein.missense if protein and (table is None or protein_applies(table, protein)) \
        else None  # fmt: skip
    c_hot = hotspot_from_coding(gene, coding) if coding else None
    if p_hot and c_hot and p_hot != c_hot:
        problems.append(
            ("hgvs-c-p-conflict", "the c. and p. HGVS name different variants; neither is used")
        )
        return Located(reported_exon, None, tuple(problems))
    hotspot = p_hot or c_hot
    derived, clash = _derived_exon(gene, coding, protein)
    if clash:
        problems.append(
            ("hgvs-c-p-conflict", "the c. and p. HGVS fall in different exons; neither is used")
        )
        return Located(None, None, tuple(problems))
    if reported_exon is not None and derived is not None and reported_exon != derived:
        problems.append(
            (
                "exon-hgvs-conflict",
                f"reported exon {reported_exon} contradicts the HGVS (exon {derived}); "
                "neither the exon nor the variant position is used",
            )
        )
        return Located(None, None, tuple(problems))
    return Located(
        reported_exon if reported_exon is not None else derived, hotspot, tuple(problems)
    )
