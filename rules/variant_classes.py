"""The variant-class table (``kb/variant_classes.yaml``): schema, loading and matching.

A class groups driver variants that mean the same for therapy (PDGFRA D842V; PDGFRA exon 12/14/18
variants other than D842V; KIT exon 9 ...) and says, per drug and with citations, what that
meaning is. Rules name classes; this module decides which classes a finding belongs to.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rules.genotype import parse_protein
from rules.patient import Biomarker

Effect = Literal[
    "resistant",
    "sensitive",
    "sensitive-higher-dose",
    "labelled",
    "favoured-exploratory",
    "limited-benefit",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrugMeaning(_Strict):
    effect: Effect
    note: str | None = None
    citations: list[str] = Field(min_length=1)


class Match(_Strict):
    hotspots: list[str] = Field(default_factory=list)
    exons: list[int] = Field(default_factory=list)
    except_: list[str] = Field(default_factory=list, alias="except")


class VariantClass(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    label: str
    gene: str
    role: Literal["primary", "secondary"]
    match: Match
    drugs: dict[str, DrugMeaning] = Field(min_length=1)


class Genotyping(_Strict):
    regions: dict[str, list[int]]
    citations: list[str] = Field(min_length=1)


class VariantClassTable(_Strict):
    version: str
    classes: list[VariantClass] = Field(min_length=1)
    gist_genotyping: Genotyping

    def get(self, class_id: str) -> VariantClass:
        entry = _BY_ID.get(id(self))
        if entry is None or entry[0] is not self:
            by_id: dict[str, VariantClass] = {}
            for item in self.classes:
                by_id.setdefault(item.id, item)  # the first of a duplicated id, as a scan
            if len(_BY_ID) >= 16:
                _BY_ID.clear()  # tables read one after the other (tests)
            entry = _BY_ID[id(self)] = (self, by_id)
        return entry[1][class_id]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.classes)


#: id of a table -> (the table, kept alive; its classes by id), built on first use: rules look
#: classes up many times per call.
_BY_ID: dict[int, tuple[VariantClassTable, dict[str, VariantClass]]] = {}


def _kb_root() -> Path:
    return Path(str(resources.files("rules"))) / "kb"


def read_table(root: Path | None = None) -> VariantClassTable:
    path = (root or _kb_root()) / "variant_classes.yaml"
    return VariantClassTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.cache
def variant_classes() -> VariantClassTable:
    """The packaged table (read once)."""
    return read_table()


def check_table(
    table: VariantClassTable, sources: Iterable[str], valuesets: Iterable[str]
) -> list[str]:
    """Referential problems: unknown citations, drugs or ``except`` classes; duplicate ids."""
    known = set(sources)
    drugs = {v.removeprefix("drug-") for v in valuesets if v.startswith("drug-")}
    problems: list[str] = []
    seen: set[str] = set()
    for item in table.classes:
        if item.id in seen:
            problems.append(f"variant_classes.yaml: duplicate class {item.id}")
        seen.add(item.id)
        if not item.match.hotspots and not item.match.exons:
            problems.append(f"variant_classes.yaml: {item.id} matches nothing")
        for drug, meaning in item.drugs.items():
            if drug not in drugs:
                problems.append(f"variant_classes.yaml: {item.id}: unknown drug {drug}")
            problems.extend(
                f"variant_classes.yaml: {item.id}/{drug}: unknown citation {key}"
                for key in meaning.citations
                if key not in known
            )
    for item in table.classes:
        problems.extend(
            f"variant_classes.yaml: {item.id}: unknown class {other} in except"
            for other in item.match.except_
            if other not in seen
        )
    problems.extend(
        f"variant_classes.yaml: gist_genotyping: unknown citation {key}"
        for key in table.gist_genotyping.citations
        if key not in known
    )
    return problems


def _names(marker: Biomarker) -> set[str]:
    names = {marker.hotspot.upper()} if marker.hotspot else set()
    change = parse_protein(marker.hgvs_p)
    if change is not None:
        names.add(change.short.upper())
        if change.missense:
            names.add(change.missense.upper())
    return names


def _matches(item: VariantClass, marker: Biomarker, table: VariantClassTable) -> bool:
    """Whether the finding belongs to the class: the reference :func:`classes_of` answers
    for every class at once (tests/rules/test_variant_classes.py compares them)."""
    if not marker.involves(item.gene) or marker.gene.symbol.upper() != item.gene.upper():
        return False
    for other in item.match.except_:
        if _matches(table.get(other), marker, table):
            return False
    if item.match.hotspots and _names(marker) & {h.upper() for h in item.match.hotspots}:
        return True
    return bool(item.match.exons) and marker.exon in item.match.exons


def classes_of(marker: Biomarker, table: VariantClassTable | None = None) -> tuple[str, ...]:
    """Ids of the classes a finding belongs to (by gene, hotspot and exon; role not checked).

    The answer of :func:`_matches` for every class of the table, with the finding's gene and
    names read once and each ``except`` class decided once."""
    table = table or variant_classes()
    gene = marker.gene.symbol.upper()
    names: set[str] | None = None
    decided: dict[str, bool] = {}

    def matches(item: VariantClass) -> bool:
        nonlocal names
        # The finding's own gene is among the genes it involves: one comparison says both.
        if gene != item.gene.upper():
            return False
        for other in item.match.except_:
            known = decided.get(other)
            if known is None:
                known = decided[other] = matches(table.get(other))
            if known:
                return False
        if item.match.hotspots:
            if names is None:
                names = _names(marker)
            if names & {h.upper() for h in item.match.hotspots}:
                return True
        return bool(item.match.exons) and marker.exon in item.match.exons

    return tuple(c.id for c in table.classes if matches(c))


def drug_effects(class_ids: Iterable[str]) -> Mapping[str, set[str]]:
    """Drug (ingredient) -> the effects the given classes state for it."""
    table = variant_classes()
    out: dict[str, set[str]] = {}
    for class_id in class_ids:
        for drug, meaning in table.get(class_id).drugs.items():
            out.setdefault(drug, set()).add(meaning.effect)
    return out
