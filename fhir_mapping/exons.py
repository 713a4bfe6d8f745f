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
from rules.genotype import (
    CodingChange,
    CodingPosition,
    GenomicChange,
    ProteinChange,
    parse_coding,
    parse_genomic,
    parse_protein,
)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a change falls: one exon, several (ambiguous), or none."""

    exons: frozenset[int]
    basis: str  # "c.", "p." or "g."

    @property
    def exon(self) -> int | None:
        return next(iter(self.exons)) if len(self.exons) == 1 else None


@dataclass(frozen=True, slots=True)
class Exon:
    number: int
    c_first: int  # c. of the exon's first base (negative in the 5' UTR, no c.0)
    c_last: int
    genomic: Mapping[str, tuple[int, int]]  # build -> 1-based inclusive interval


@dataclass(frozen=True, slots=True)
class Transcript:
    gene: str
    transcript: str
    protein: str
    protein_length: int
    ensembl: tuple[str, ...]
    chromosome: Mapping[str, str]  # build -> RefSeq chromosome accession (NC_...)
    exons: tuple[Exon, ...]
    coding_equivalents: Mapping[str, str]  # normalised c. text -> one-letter p. (D842V)

    def codons(self, exon: Exon) -> tuple[int, int] | None:
        """First and last codon an exon touches, or ``None`` for a UTR-only exon."""
        cds_end = self.protein_length * 3 + 3
        first, last = max(exon.c_first, 1), min(exon.c_last, cds_end)
        if first > last:
            return None
        return (first + 2) // 3, (last + 2) // 3


def _c_ranges(exons: list[tuple[int, int]], anchor_g: int, anchor_c: int) -> list[tuple[int, int]]:
    """c. range of each exon from its genomic interval and one anchor (+ strand)."""
    offset = 0
    anchor_tx = None
    for start, end in exons:
        if start <= anchor_g <= end:
            anchor_tx = offset + anchor_g - start + 1
        offset += end - start + 1
    if anchor_tx is None:
        raise ValueError("exons.yaml: anchor outside every exon")
    cds_start_tx = anchor_tx - anchor_c + 1

    def c_of(tx: int) -> int:
        c = tx - cds_start_tx + 1
        return c if c > 0 else c - 1  # no c.0: the base before c.1 is c.-1

    out = []
    offset = 0
    for start, end in exons:
        out.append((c_of(offset + 1), c_of(offset + end - start + 1)))
        offset += end - start + 1
    return out


def _transcript(row: Mapping[str, Any]) -> Transcript:
    builds = sorted(row["exons"])
    intervals = {b: [(int(s), int(e)) for s, e in row["exons"][b]] for b in builds}
    ranges = {
        b: _c_ranges(intervals[b], int(row["anchors"][b]["g"]), int(row["anchors"][b]["c"]))
        for b in builds
    }
    first = ranges[builds[0]]
    for build in builds[1:]:
        if ranges[build] != first:
            raise ValueError(f"exons.yaml: {row['gene']}: {build} disagrees with {builds[0]}")
    exons = tuple(
        Exon(n, c_first, c_last, {b: intervals[b][n - 1] for b in builds})
        for n, (c_first, c_last) in enumerate(first, start=1)
    )
    table = Transcript(
        gene=str(row["gene"]),
        transcript=str(row["transcript"]),
        protein=str(row["protein"]),
        protein_length=int(row["protein_length"]),
        ensembl=tuple(str(e) for e in row.get("ensembl") or ()),
        chromosome={str(k): str(v) for k, v in row["chromosome"].items()},
        exons=exons,
        coding_equivalents={str(e["c"]): str(e["p"]) for e in row.get("coding_equivalents") or ()},
    )
    cds_end = table.protein_length * 3 + 3
    if not exons[-1].c_first <= cds_end <= exons[-1].c_last:
        raise ValueError(f"exons.yaml: {table.gene}: the CDS does not end in the last exon")
    return table


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


def _place_c(table: Transcript, first: int, last: int, basis: str) -> Placement:
    """Exons a c. interval touches; a span over a junction goes to the exon holding most of it."""
    share = {
        e.number: min(last, e.c_last) - max(first, e.c_first) + 1
        for e in table.exons
        if e.c_first <= last and first <= e.c_last
    }
    if len(share) > 1:
        best = max(share.values())
        if best * 2 > sum(share.values()):
            return Placement(frozenset(n for n, v in share.items() if v == best), basis)
    return Placement(frozenset(share), basis)


def place_protein(gene: str, change: ProteinChange) -> Placement | None:
    table = exon_table().get(gene)
    if table is None or not protein_applies(table, change):
        return None
    return _place_c(table, 3 * change.start - 2, 3 * change.end, "p.")


def place_coding(gene: str, change: CodingChange) -> Placement | None:
    table = exon_table().get(gene)
    if table is None or not coding_applies(table, change):
        return None
    span = change.coding_span()
    if span is None:
        return Placement(frozenset(), "c.")
    return _place_c(table, span[0], span[1], "c.")


def place_genomic(gene: str, change: GenomicChange) -> Placement | None:
    """Exon of a ``g.`` change on a named RefSeq chromosome (GRCh37 or GRCh38)."""
    table = exon_table().get(gene)
    if table is None or change.accession is None:
        return None
    builds = [b for b, acc in table.chromosome.items() if acc == change.accession]
    if not builds:
        return None
    build = builds[0]
    share = {
        e.number: min(change.end, e.genomic[build][1]) - max(change.start, e.genomic[build][0]) + 1
        for e in table.exons
        if e.genomic[build][0] <= change.end and change.start <= e.genomic[build][1]
    }
    if len(share) > 1:
        best = max(share.values())
        if best * 2 > sum(share.values()):
            share = {n: v for n, v in share.items() if v == best}
    return Placement(frozenset(share), "g.")


def coding_of_genomic(gene: str, change: GenomicChange) -> CodingChange | None:
    """The c. form of a single-base g. substitution inside an exon (+ strand genes only)."""
    table = exon_table().get(gene)
    if table is None or change.accession is None or change.start != change.end:
        return None
    if change.kind != "substitution":
        return None
    for build, acc in table.chromosome.items():
        if acc != change.accession:
            continue
        for exon in table.exons:
            start, end = exon.genomic[build]
            if start <= change.start <= end:
                c = exon.c_first + (change.start - start)
                if exon.c_first < 0 <= c:
                    c += 1  # no c.0
                if c < 1:
                    return None
                pos = CodingPosition(c)
                return CodingChange(pos, pos, "substitution", change.ref, change.alt, None)
    return None


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


_UNREAD = "the {} HGVS could not be read; no exon is inferred from it"


def _exons_found(gene: str, parsed: list[CodingChange | ProteinChange | GenomicChange]) -> set[int]:
    """The exons the readable HGVS strings place the variant in (one per string at most)."""
    found: set[int] = set()
    for change in parsed:
        if isinstance(change, CodingChange):
            placement = place_coding(gene, change)
        elif isinstance(change, ProteinChange):
            placement = place_protein(gene, change)
        else:
            placement = place_genomic(gene, change)
        if placement is not None and placement.exon is not None:
            found.add(placement.exon)
    return found


def locate(
    gene: str,
    hgvs_c: str | None,
    hgvs_p: str | None,
    reported_exon: int | None,
    hgvs_g: str | None = None,
) -> Located:
    """Exon and hotspot of a variant from its HGVS, checked against a reported exon.

    A reported exon that contradicts the HGVS, or HGVS strings that disagree with each other,
    are problems, and neither value is acted upon (exon and hotspot stay unknown).
    """
    problems: list[tuple[str, str]] = []
    coding, protein, genomic = parse_coding(hgvs_c), parse_protein(hgvs_p), parse_genomic(hgvs_g)
    for text, parsed, label in (
        (hgvs_c, coding, "coding (c.)"),
        (hgvs_p, protein, "protein (p.)"),
        (hgvs_g, genomic, "genomic (g.)"),
    ):
        if text and parsed is None:
            problems.append(("hgvs-unreadable", _UNREAD.format(label)))
    table = exon_table().get(gene)
    hotspots = set()
    if protein is not None and (table is None or protein_applies(table, protein)):
        hotspots.add(protein.missense)
    for nucleotide in (coding, coding_of_genomic(gene, genomic) if genomic else None):
        if nucleotide is not None:
            hotspots.add(hotspot_from_coding(gene, nucleotide))
    hotspots.discard(None)
    exons = _exons_found(gene, [c for c in (coding, protein, genomic) if c is not None])
    if len(hotspots) > 1 or len(exons) > 1:
        problems.append(
            ("hgvs-conflict", "the HGVS strings of this variant disagree; none of them is used")
        )
        return Located(None, None, tuple(problems))
    derived = next(iter(exons), None)
    if reported_exon is not None and derived is not None and reported_exon != derived:
        problems.append(
            (
                "exon-hgvs-conflict",
                f"reported exon {reported_exon} contradicts the HGVS (exon {derived}); "
                "neither the exon nor the variant position is used",
            )
        )
        return Located(None, None, tuple(problems))
    hotspot = next(iter(hotspots), None)
    exon = reported_exon if reported_exon is not None else derived
    return Located(exon, str(hotspot) if hotspot else None, tuple(problems))
