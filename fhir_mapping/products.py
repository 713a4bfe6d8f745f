"""Drug products as EHRs order them (``data/drug_products.yaml``): RxNorm clinical drugs (SCD)
and branded drugs (SBD) with ingredient, strength and dose form, and brand names.

An order coded by a product code is identified by code (its ingredient), and its strength turns
a tablet or capsule count into milligrams. Brand and international names are a whole-word name
fallback, like the generic names of ``drugs.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mapping.name_scan import NameScanner
from fhir_mapping.tables import Drug, drug_table


@dataclass(frozen=True, slots=True)
class Product:
    """One RxNorm clinical or branded drug: ``strength_mg`` per tablet or capsule."""

    rxnorm: str
    tty: str  # SCD | SBD
    ingredient: str
    strength_mg: Decimal
    form: str  # tablet | capsule
    name: str
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class DoseLimit:
    """The labelled maximum of a drug: per day (oral), or per cycle by body surface (IV)."""

    max_mg_per_day: Decimal | None = None
    max_mg_m2_per_cycle: Decimal | None = None
    min_cycle_days: int | None = None
    #: Body surface used to bound a dose ordered in mg rather than mg/m2 (a generous ceiling).
    bsa_ceiling_m2: Decimal = Decimal("2.6")


@dataclass(frozen=True, slots=True)
class ProductTable:
    by_rxnorm: Mapping[str, Product]
    brand_pattern: re.Pattern[str] | None
    by_brand: Mapping[str, str]  # lower-case brand -> ingredient
    dose_limits: Mapping[str, DoseLimit] = field(default_factory=dict)
    #: The brands ``brand_pattern`` matches, found without it in ASCII text.
    scanner: NameScanner | None = None

    def match_brand(self, text: str) -> str | None:
        """The ingredient whose brand appears as whole words in ``text`` (unique match only)."""
        if self.brand_pattern is None:
            return None
        names = None if self.scanner is None else self.scanner.names_in(text)
        if names is None:
            names = [m.group(0).lower() for m in self.brand_pattern.finditer(text)]
        found = {self.by_brand[name] for name in names}
        return next(iter(found)) if len(found) == 1 else None

    def clinical_drug(self, ingredient: str, strength_mg: Decimal) -> Product | None:
        """The SCD of ``ingredient`` whose unit strength is ``strength_mg`` (tablet first)."""
        matches = [
            p
            for p in self.by_rxnorm.values()
            if p.ingredient == ingredient and p.tty == "SCD" and p.strength_mg == strength_mg
        ]
        matches.sort(key=lambda p: (p.form != "tablet", p.name))
        return matches[0] if matches else None


def _load() -> Mapping[str, Any]:
    text = (
        resources.files("fhir_mapping")
        .joinpath("data", "drug_products.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ValueError("drug_products.yaml: expected a mapping at top level")
    return data


@cache
def product_table() -> ProductTable:
    data = _load()
    drugs = {d.agent.ingredient for d in drug_table().drugs}
    ingredient_codes = set(drug_table().by_rxnorm)
    by_rxnorm: dict[str, Product] = {}
    for row in data.get("products") or ():
        code = str(row["rxnorm"])
        ingredient = str(row["ingredient"])
        if ingredient not in drugs:
            raise ValueError(f"drug_products.yaml: {code}: unknown ingredient {ingredient}")
        if code in by_rxnorm or code in ingredient_codes:
            raise ValueError(f"drug_products.yaml: duplicate RxNorm {code}")
        if not row.get("source"):
            raise ValueError(f"drug_products.yaml: {code} has no source")
        by_rxnorm[code] = Product(
            rxnorm=code,
            tty=str(row["tty"]),
            ingredient=ingredient,
            strength_mg=Decimal(str(row["strength_mg"])),
            form=str(row["form"]),
            name=str(row["name"]),
            brand=str(row["brand"]) if row.get("brand") else None,
        )
    by_brand: dict[str, str] = {}
    for ingredient, row in (data.get("brands") or {}).items():
        if ingredient not in drugs:
            raise ValueError(f"drug_products.yaml: brands of unknown ingredient {ingredient}")
        for name in row["names"]:
            by_brand[str(name).lower()] = str(ingredient)
    pattern = None
    alternatives: list[str] = []
    if by_brand:
        alternatives = sorted(by_brand, key=len, reverse=True)
        pattern = re.compile(
            r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w-])",
            re.IGNORECASE,
        )
    limits: dict[str, DoseLimit] = {}
    for ingredient, row in (data.get("dose_limits") or {}).items():
        if ingredient not in drugs or not row.get("source"):
            raise ValueError(
                f"drug_products.yaml: dose limit of {ingredient} (unknown or unsourced)"
            )

        def number(key: str, row: Mapping[str, Any] = row) -> Decimal | None:
            return Decimal(str(row[key])) if row.get(key) is not None else None

        cycle = row.get("min_cycle_days")
        limits[str(ingredient)] = DoseLimit(
            max_mg_per_day=number("max_mg_per_day"),
            max_mg_m2_per_cycle=number("max_mg_m2_per_cycle"),
            min_cycle_days=int(cycle) if cycle is not None else None,
            bsa_ceiling_m2=number("bsa_ceiling_m2") or Decimal("2.6"),
        )
    return ProductTable(by_rxnorm, pattern, by_brand, limits, NameScanner(alternatives))


def drug_of(ingredient: str) -> Drug | None:
    return next((d for d in drug_table().drugs if d.agent.ingredient == ingredient), None)


__all__ = ["DoseLimit", "Product", "ProductTable", "drug_of", "product_table"]
