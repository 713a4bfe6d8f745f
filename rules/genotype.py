"""HGVS notation as positions: what a molecular report says, read without any FHIR.

Real reports give ``NP_006197.1:p.(Asp842Val)``, ``p.D842V``, ``c.2525A>T``,
``NM_000222.3:c.1648-3_1650del`` and the like, and rarely an exon. This module reads the
protein (``p.``) and coding (``c.``) notations into positions so that the mapping can place a
variant in an exon (with a cited table) and the rules can compare variants. It parses; it
never guesses: a string it cannot read gives ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AA1",
    "CodingChange",
    "CodingPosition",
    "GenomicChange",
    "ProteinChange",
    "parse_coding",
    "parse_genomic",
    "parse_protein",
]

#: Three-letter amino-acid codes (and the stop codon) to one letter.
AA1 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Sec": "U",
    "Ter": "*",
}  # fmt: skip
_ONE = "ACDEFGHIKLMNPQRSTVWYU"
_AA = rf"(?:{'|'.join(AA1)}|[{_ONE}*X])"
_AAS = rf"(?:{_AA})+"


def _one(aa: str) -> str:
    if aa in AA1:
        return AA1[aa]
    return "*" if aa == "X" else aa


def _seq1(text: str) -> str:
    return "".join(_one(a) for a in re.findall(_AA, text))


@dataclass(frozen=True, slots=True)
class ProteinChange:
    """A protein change on the reference protein, in codon (residue) numbers."""

    start: int
    end: int
    kind: str  # substitution | synonymous | nonsense | deletion | duplication | insertion |
    #           delins | frameshift | extension | unknown-effect
    ref: str  # one-letter reference residue(s) at start (and end), "" when not given
    alt: str  # one-letter inserted / substituted residues, "" when none
    accession: str | None = None

    @property
    def short(self) -> str:
        """Compact one-letter form: ``D842V``, ``A502_Y503dup``, ``S566_E571delinsR``."""
        first = f"{self.ref[:1]}{self.start}"
        span = first if self.end == self.start else f"{first}_{self.ref[-1:]}{self.end}"
        suffix = {
            "substitution": self.alt,
            "synonymous": "=",
            "nonsense": "*",
            "deletion": "del",
            "duplication": "dup",
            "insertion": f"ins{self.alt}",
            "delins": f"delins{self.alt}",
            "frameshift": "fs",
            "extension": "ext",
        }.get(self.kind, "?")
        return f"{span}{suffix}"

    @property
    def missense(self) -> str | None:
        """``D842V`` for a single-residue substitution, else ``None``."""
        if self.kind == "substitution" and len(self.ref) == 1 and len(self.alt) == 1:
            return f"{self.ref}{self.start}{self.alt}"
        return None


_ACC = r"(?:(?P<acc>[A-Za-z]{2}_\d+(?:\.\d+)?|ENS[A-Z]*\d+(?:\.\d+)?)(?:\([A-Za-z0-9-]+\))?:)?"
_P_BODY = re.compile(
    rf"^(?P<r1>{_AA})?(?P<p1>\d+)(?:_(?P<r2>{_AA})?(?P<p2>\d+))?"
    rf"(?P<edit>delins{_AAS}|del|dup|ins{_AAS}|fs.*|ext.*|=|\?|{_AAS}fs.*|{_AAS}ext.*|{_AA})$"
)


def _unwrap(body: str) -> str:
    """Drop trailing punctuation, unmatched closing parentheses and one wrapping pair."""
    body = body.strip().rstrip(";,.")
    while body.endswith(")") and body.count(")") > body.count("("):
        body = body[:-1]
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    return body


def parse_protein(text: str | None) -> ProteinChange | None:
    """Read ``[NP_...:]p.[(]...[)]``, one- or three-letter, most edit types."""
    if not text:
        return None
    match = re.search(rf"{_ACC}p\.(?P<body>\S+)", text.strip())
    if match is None:
        return None
    parsed = _P_BODY.match(_unwrap(match.group("body")))
    if parsed is None:
        return None
    start = int(parsed.group("p1"))
    end = int(parsed.group("p2") or start)
    if end < start:
        return None
    ref = "".join(_one(r) for r in (parsed.group("r1"), parsed.group("r2")) if r)
    edit = parsed.group("edit")
    kind, alt = _protein_edit(edit, ref)
    return ProteinChange(start, end, kind, ref, alt, match.group("acc"))


def _protein_edit(edit: str, ref: str) -> tuple[str, str]:
    if edit.startswith("delins"):
        return "delins", _seq1(edit[6:])
    if edit == "del":
        return "deletion", ""
    if edit == "dup":
        return "duplication", ""
    if edit.startswith("ins"):
        return "insertion", _seq1(edit[3:])
    if "fs" in edit:
        return "frameshift", ""
    if "ext" in edit:
        return "extension", ""
    if edit == "=":
        return "synonymous", ""
    if edit == "?":
        return "unknown-effect", ""
    alt = _one(edit)
    if alt == "*":
        return "nonsense", "*"
    if ref and alt == ref[:1]:
        return "synonymous", ""
    return "substitution", alt


@dataclass(frozen=True, slots=True)
class CodingPosition:
    """A ``c.`` position: ``base`` in the coding sequence, ``offset`` into the intron.

    ``region`` is ``"cds"``, ``"5utr"`` (``c.-N``) or ``"3utr"`` (``c.*N``).
    """

    base: int
    offset: int = 0
    region: str = "cds"

    @property
    def exonic(self) -> bool:
        return self.offset == 0 and self.region == "cds"


@dataclass(frozen=True, slots=True)
class CodingChange:
    start: CodingPosition
    end: CodingPosition
    kind: str  # substitution | deletion | duplication | insertion | delins | inversion
    ref: str = ""
    alt: str = ""
    accession: str | None = None

    @property
    def notation(self) -> str:
        """Normalised ``c.`` text without the accession (``c.2525A>T``)."""

        def pos(p: CodingPosition) -> str:
            prefix = {"5utr": "-", "3utr": "*"}.get(p.region, "")
            off = f"{p.offset:+d}" if p.offset else ""
            return f"{prefix}{p.base}{off}"

        span = pos(self.start) if self.end == self.start else f"{pos(self.start)}_{pos(self.end)}"
        edit = {
            "substitution": f"{self.ref}>{self.alt}",
            "deletion": "del",
            "duplication": "dup",
            "insertion": f"ins{self.alt}",
            "delins": f"delins{self.alt}",
            "inversion": "inv",
        }[self.kind]
        return f"c.{span}{edit}"

    def coding_span(self) -> tuple[int, int] | None:
        """The first and last coding-sequence bases the change touches, or ``None``.

        Intronic offsets move the end into the intron: ``c.1648-3_1650del`` touches
        c.1648..1650; a change wholly inside an intron or a UTR touches none.
        """
        if self.start.region != "cds" or self.end.region != "cds":
            return None
        low = self.start.base if self.start.offset <= 0 else self.start.base + 1
        high = self.end.base if self.end.offset >= 0 else self.end.base - 1
        if self.kind == "insertion" and self.start.offset == 0 and self.end.offset == 0:
            low, high = self.start.base, self.end.base
        if low > high:
            return None
        return low, high


_C_POS = r"(?P<{n}u>[-*])?(?P<{n}b>\d+)(?P<{n}o>[+-]\d+)?"
_C_BODY = re.compile(
    rf"^{_C_POS.format(n='s')}(?:_{_C_POS.format(n='e')})?"
    r"(?P<edit>(?P<ref>[ACGTN])>(?P<alt>[ACGTN])|delins[ACGTN]+|del[ACGTN]*\d*|dup[ACGTN]*\d*"
    r"|ins[ACGTN]+|inv)$",
    re.IGNORECASE,
)


def _cpos(match: re.Match[str], n: str) -> CodingPosition:
    region = {"-": "5utr", "*": "3utr"}.get(match.group(f"{n}u") or "", "cds")
    offset = int(match.group(f"{n}o")) if match.group(f"{n}o") else 0
    return CodingPosition(int(match.group(f"{n}b")), offset, region)


def parse_coding(text: str | None) -> CodingChange | None:
    """Read ``[NM_...[(GENE)]:]c.[(]...[)]`` for substitutions, indels and intronic offsets."""
    if not text:
        return None
    match = re.search(rf"{_ACC}c\.(?P<body>\S+)", text.strip())
    if match is None:
        return None
    parsed = _C_BODY.match(_unwrap(match.group("body")))
    if parsed is None:
        return None
    start = _cpos(parsed, "s")
    end = _cpos(parsed, "e") if parsed.group("eb") else start
    edit = parsed.group("edit")
    low = edit.lower()
    if parsed.group("ref"):
        kind, ref, alt = "substitution", parsed.group("ref").upper(), parsed.group("alt").upper()
    elif low.startswith("delins"):
        kind, ref, alt = "delins", "", edit[6:].upper()
    elif low.startswith("del"):
        kind, ref, alt = "deletion", "", ""
    elif low.startswith("dup"):
        kind, ref, alt = "duplication", "", ""
    elif low.startswith("ins"):
        kind, ref, alt = "insertion", "", edit[3:].upper()
    else:
        kind, ref, alt = "inversion", "", ""
    return CodingChange(start, end, kind, ref, alt, match.group("acc"))


@dataclass(frozen=True, slots=True)
class GenomicChange:
    """A ``g.`` change on a chromosome accession (``NC_000004.12``), 1-based inclusive."""

    start: int
    end: int
    kind: str
    ref: str = ""
    alt: str = ""
    accession: str | None = None


_G_BODY = re.compile(
    r"^(?P<s>\d+)(?:_(?P<e>\d+))?"
    r"(?P<edit>(?P<ref>[ACGTN])>(?P<alt>[ACGTN])|delins[ACGTN]+|del[ACGTN]*|dup[ACGTN]*"
    r"|ins[ACGTN]+|inv)$",
    re.IGNORECASE,
)


def parse_genomic(text: str | None) -> GenomicChange | None:
    """Read ``[NC_...:]g.`` substitutions and indels (no uncertain positions)."""
    if not text:
        return None
    match = re.search(rf"{_ACC}g\.(?P<body>\S+)", text.strip())
    if match is None:
        return None
    parsed = _G_BODY.match(_unwrap(match.group("body")))
    if parsed is None:
        return None
    start = int(parsed.group("s"))
    end = int(parsed.group("e") or start)
    if end < start:
        return None
    low = parsed.group("edit").lower()
    if parsed.group("ref"):
        kind = "substitution"
    elif low.startswith("delins"):
        kind = "delins"
    elif low.startswith("del"):
        kind = "deletion"
    elif low.startswith("dup"):
        kind = "duplication"
    elif low.startswith("ins"):
        kind = "insertion"
    else:
        kind = "inversion"
    ref = (parsed.group("ref") or "").upper()
    alt = (parsed.group("alt") or "").upper()
    acc = match.group("acc")
    return GenomicChange(start, end, kind, ref, alt, acc.upper() if acc else None)
