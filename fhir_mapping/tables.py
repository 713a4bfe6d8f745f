"""Reference tables shipped as data under ``fhir_mapping/data`` (loaded once, read-only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mapping.name_scan import NameScanner
from rules.interactions import InteractionClass
from rules.patient import (
    Agent,
    BiomarkerKind,
    CypRole,
    Gene,
    Histology,
    HistologySubtype,
)


def _load(name: str) -> Mapping[str, Any]:
    text = resources.files("fhir_mapping").joinpath("data", name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ValueError(f"{name}: expected a mapping at top level")
    return data


def load_table(name: str) -> Mapping[str, Any]:
    """A data table under ``fhir_mapping/data`` (a YAML mapping)."""
    return _load(name)


# --- drugs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drug:
    agent: Agent
    cyp3a4: CypRole | None
    rxnorm: frozenset[str]
    atc: frozenset[str]
    names: tuple[str, ...]
    source: str
    #: Labelled interaction classes (``rules.interactions.InteractionClass``).
    classes: frozenset[str] = frozenset()

    @property
    def is_comedication(self) -> bool:
        """Interaction drugs become co-medications, not therapy exposures."""
        return self.cyp3a4 is not None or bool(self.classes)


_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class DrugTable:
    drugs: tuple[Drug, ...]
    by_rxnorm: Mapping[str, Drug]
    by_atc: Mapping[str, Drug]
    name_pattern: re.Pattern[str]
    by_name: Mapping[str, Drug]
    #: First word of every name: a cheap necessary condition before the big regex runs.
    first_words: frozenset[str] = frozenset()
    #: The names ``name_pattern`` matches, found without it in ASCII text.
    scanner: NameScanner | None = None

    def match_name(self, text: str) -> Drug | None:
        """The drug whose name or brand appears as whole words in ``text`` (unique match only)."""
        names = None if self.scanner is None else self.scanner.names_in(text)
        if names is None:
            if self.first_words and self.first_words.isdisjoint(_WORD.findall(text.lower())):
                return None
            names = [m.group(0).lower() for m in self.name_pattern.finditer(text)]
        found = {self.by_name[name] for name in names}
        hits = {d.agent.ingredient for d in found}
        if len(hits) == 1:
            return next(iter(found))
        return None


@cache
def drug_table() -> DrugTable:
    drugs: list[Drug] = []
    for row in _load("drugs.yaml")["drugs"]:
        rx = {str(row["rxnorm_in"])} if row.get("rxnorm_in") else set()
        rx |= {str(c) for c in row.get("rxnorm_other") or ()}
        atc = {str(c) for c in row.get("atc") or ()} | {str(c) for c in row.get("atc_old") or ()}
        role = row.get("cyp3a4")
        current_atc = (row.get("atc") or [None])[0]
        drugs.append(
            Drug(
                agent=Agent(
                    ingredient=str(row["ingredient"]),
                    rxnorm=str(row["rxnorm_in"]) if row.get("rxnorm_in") else None,
                    atc=str(current_atc) if current_atc else None,
                    drug_class=row.get("drug_class"),
                    antineoplastic=bool(row.get("antineoplastic", False)),
                ),
                cyp3a4=CypRole(role) if role else None,
                rxnorm=frozenset(rx),
                atc=frozenset(atc),
                names=tuple(str(n).lower() for n in (row.get("names") or []))
                + tuple(str(n).lower() for n in (row.get("brands") or [])),
                source=str(row["source"]),
                classes=frozenset(
                    InteractionClass(str(c)).value for c in row.get("interaction_classes") or ()
                ),
            )
        )
    by_rxnorm: dict[str, Drug] = {}
    by_atc: dict[str, Drug] = {}
    by_name: dict[str, Drug] = {}
    for drug in drugs:
        for code in drug.rxnorm:
            if code in by_rxnorm:
                raise ValueError(f"drugs.yaml: duplicate RxNorm {code}")
            by_rxnorm[code] = drug
        for code in drug.atc:
            if code in by_atc:
                raise ValueError(f"drugs.yaml: duplicate ATC {code}")
            by_atc[code] = drug
        for name in drug.names:
            by_name[name] = drug
    alternatives = sorted(by_name, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w-])",
        re.IGNORECASE,
    )
    first_words = frozenset(
        _WORD.findall(name.lower())[0] for name in by_name if _WORD.search(name)
    )
    return DrugTable(
        tuple(drugs), by_rxnorm, by_atc, pattern, by_name, first_words, NameScanner(alternatives)
    )


# --- genes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeneTable:
    by_hgnc: Mapping[str, Gene]
    by_symbol: Mapping[str, Gene]
    text_symbols: frozenset[str]

    def gene(self, symbol: str) -> Gene:
        """The table gene for ``symbol`` (with its HGNC id) or a symbol-only gene."""
        return self.by_symbol.get(symbol.upper(), Gene(symbol.upper()))


@cache
def gene_table() -> GeneTable:
    data = _load("genes.yaml")
    by_hgnc: dict[str, Gene] = {}
    by_symbol: dict[str, Gene] = {}
    for row in data["genes"]:
        gene = Gene(symbol=str(row["symbol"]), hgnc_id=str(row["hgnc"]))
        by_hgnc[gene.hgnc_id or ""] = gene
        by_symbol[gene.symbol] = gene
    symbols = frozenset(str(s).upper() for s in data["text_symbols"])
    return GeneTable(by_hgnc, by_symbol, symbols)


# --- single-gene LOINC tests ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenomicTest:
    loinc: str
    gene: Gene
    kind: BiomarkerKind
    partners: tuple[Gene, ...] = ()
    any_of: tuple[Gene, ...] = ()
    exon: int | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hotspot: str | None = None


@dataclass(frozen=True, slots=True)
class GenomicTests:
    by_loinc: Mapping[str, GenomicTest]
    hotspot_exons: Mapping[tuple[str, str], int]


@cache
def genomic_tests() -> GenomicTests:
    data = _load("genomic_tests.yaml")
    genes = gene_table()
    tests: dict[str, GenomicTest] = {}
    for row in data["tests"]:
        tests[str(row["loinc"])] = GenomicTest(
            loinc=str(row["loinc"]),
            gene=genes.gene(str(row["gene"])),
            kind=BiomarkerKind(row["kind"]),
            partners=tuple(genes.gene(str(p)) for p in row.get("partners") or ()),
            any_of=tuple(genes.gene(str(p)) for p in row.get("any_of") or ()),
            exon=int(row["exon"]) if row.get("exon") is not None else None,
            hgvs_c=row.get("hgvs_c"),
            hgvs_p=row.get("hgvs_p"),
            hotspot=row.get("hotspot"),
        )
    exons = {
        (str(r["gene"]), str(r["hotspot"])): int(r["exon"]) for r in data.get("hotspot_exons") or ()
    }
    return GenomicTests(tests, exons)


# --- histology -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistologyRow:
    histology: Histology
    subtype: HistologySubtype | None
    behaviours: frozenset[str] = frozenset()
    bare: bool = True
    #: Behaviour digits that mean a localized, non-metastatic tumour (GIST /0 and /1 only).
    localized: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HistologyTable:
    icdo3: Mapping[str, HistologyRow]
    snomed: Mapping[str, HistologyRow]
    icd10cm: Mapping[str, HistologyRow]

    def icd10(self, code: str) -> HistologyRow | None:
        """Longest-prefix match (``C49.11`` falls under ``C49.1``)."""
        normalised = code.strip().upper()
        if len(normalised) > 3 and "." not in normalised:
            normalised = f"{normalised[:3]}.{normalised[3:]}"
        for length in range(len(normalised), 4, -1):
            row = self.icd10cm.get(normalised[:length])
            if row is not None:
                return row
        return None


def _row(data: Mapping[str, Any]) -> HistologyRow:
    subtype = data.get("subtype")
    return HistologyRow(
        histology=Histology(data["histology"]),
        subtype=HistologySubtype(subtype) if subtype else None,
        behaviours=frozenset(str(b) for b in data.get("behaviours") or ()),
        bare=bool(data.get("bare", True)),
        localized=frozenset(str(b) for b in data.get("localized") or ()),
    )


@cache
def histology_table() -> HistologyTable:
    data = _load("histology.yaml")
    return HistologyTable(
        icdo3={str(r["morphology"]): _row(r) for r in data["icdo3"]},
        snomed={str(r["code"]): _row(r) for r in data["snomed"]},
        icd10cm={str(r["code"]).upper(): _row(r) for r in data["icd10cm"]},
    )
