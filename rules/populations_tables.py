"""The cited special-population tables of the knowledge base (``rules/kb/tables``).

* ``embryo-fetal-toxicity.yaml``: per drug, the label's embryo-fetal toxicity statement and,
  where the label gives one that was verified, the contraception period.
* ``organ-impairment-doses.yaml``: per drug, the labelled dose change by hepatic impairment
  category (NCI-ODWG by total bilirubin, or Child-Pugh class) and by creatinine clearance band.

Facts live in the YAML files with their sources; this module only reads and checks them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([-.][a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetalToxicity(_Strict):
    drug: Key
    statement: Text
    contraception: Text | None = None
    cited: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    sources: list[Key] = Field(min_length=1)


class FetalToxicityTable(_Strict):
    version: Text
    drugs: list[FetalToxicity] = Field(min_length=1)

    def for_drug(self, drug: str) -> FetalToxicity | None:
        return next((d for d in self.drugs if d.drug == drug), None)


HepaticCategory = Literal["moderate", "severe"]


class OrganDose(_Strict):
    """One labelled dose change.

    Hepatic rows name ``categories`` on their ``scale``: ``nci-odwg`` (moderate: total
    bilirubin >1.5 to 3 x ULN; severe: >3 x ULN; any AST) or ``child-pugh`` (classes B, C;
    never derived from laboratory values here). Renal rows give a creatinine clearance band
    ``[crcl_from, crcl_below)`` in mL/min. ``max_mg_per_day`` is the labelled daily dose: a
    draft at or below it is already adjusted (silent); without it every draft is flagged.
    """

    drug: Key
    organ: Literal["hepatic", "renal"]
    scale: Literal["nci-odwg", "child-pugh", "crcl"]
    categories: list[Literal["moderate", "severe", "B", "C"]] = Field(default_factory=list)
    crcl_from: float | None = Field(default=None, ge=0)
    crcl_below: float | None = Field(default=None, gt=0)
    band: Text
    action: Literal["reduce", "avoid", "caution"]
    label: Text
    max_mg_per_day: float | None = Field(default=None, gt=0)
    # The label's renal band excludes patients on dialysis.
    not_on_dialysis: bool = False
    cited: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    sources: list[Key] = Field(min_length=1)


class OrganDoseTable(_Strict):
    version: Text
    lab_window_days: int = Field(ge=1, le=365)
    rows: list[OrganDose] = Field(min_length=1)


def _tables_dir() -> Path:
    return Path(str(resources.files("rules"))) / "kb" / "tables"


@cache
def fetal_toxicity_table() -> FetalToxicityTable:
    raw = yaml.safe_load((_tables_dir() / "embryo-fetal-toxicity.yaml").read_text("utf-8"))
    return FetalToxicityTable.model_validate(raw)


@cache
def organ_dose_table() -> OrganDoseTable:
    raw = yaml.safe_load((_tables_dir() / "organ-impairment-doses.yaml").read_text("utf-8"))
    return OrganDoseTable.model_validate(raw)


def table_sources() -> set[str]:
    """Every source key the two tables cite (checked against sources.yaml by the loader)."""
    keys = {k for d in fetal_toxicity_table().drugs for k in d.sources}
    keys |= {k for r in organ_dose_table().rows for k in r.sources}
    return keys


def check_tables(root: Path, sources: set[str], drugs: set[str]) -> list[str]:
    """Problems of the two tables under ``root/tables``: schema, unknown sources or drugs."""
    problems: list[str] = []
    for name, model in (
        ("embryo-fetal-toxicity.yaml", FetalToxicityTable),
        ("organ-impairment-doses.yaml", OrganDoseTable),
    ):
        path = root / "tables" / name
        if not path.is_file():
            continue
        try:
            table = model.model_validate(yaml.safe_load(path.read_text("utf-8")))
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(f"tables/{name}: {exc}")
            continue
        entries = table.drugs if isinstance(table, FetalToxicityTable) else table.rows
        for entry in entries:
            problems.extend(
                f"tables/{name}: unknown source {key}"
                for key in entry.sources
                if key not in sources
            )
            if entry.drug not in drugs:
                problems.append(f"tables/{name}: unknown drug {entry.drug}")
    return problems
