"""GIST risk of recurrence: the recorded category, or one derived from the pathology factors.

The derivation reads the cited AFIP table (``rules/kb/tables/gist-risk-afip.yaml``): mitotic
index (per 50 HPF, read on the same scale as per 5 mm2), tumour size and site. Tumour rupture
makes the risk high. A category is only derived when the table gives one: an unknown site, or a
cell with insufficient data, derives nothing. "Small intestine" without duodenum or
jejunum/ileum derives a category only where the two columns agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rules.extent import GistRisk, GistRiskAssessment
from rules.patient import Patient

__all__ = ["derive", "risk_assessments"]

_Cell = Literal["none", "very-low", "low", "intermediate", "high", "insufficient"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mitoses: Literal["low", "high"]
    size: Literal["<=2", "2-5", "5-10", ">10"]
    risk: list[_Cell] = Field(min_length=4, max_length=4)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    sources: list[str] = Field(min_length=1)
    sites: list[Literal["gastric", "duodenum", "jejunum-ileum", "rectum"]]
    rows: list[_Row] = Field(min_length=8, max_length=8)


@cache
def _table() -> _Table:
    path = Path(str(resources.files("rules"))) / "kb" / "tables" / "gist-risk-afip.yaml"
    return _Table.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _size_band(size_cm: Decimal) -> str:
    if size_cm <= 2:
        return "<=2"
    if size_cm <= 5:
        return "2-5"
    if size_cm <= 10:
        return "5-10"
    return ">10"


def _cell(site: str, mitoses: str, size: str) -> str | None:
    table = _table()
    row = next(r for r in table.rows if r.mitoses == mitoses and r.size == size)
    if site == "small-intestine":
        duodenum = row.risk[table.sites.index("duodenum")]
        jejunum = row.risk[table.sites.index("jejunum-ileum")]
        return duodenum if duodenum == jejunum else None
    if site not in table.sites:
        return None
    return row.risk[table.sites.index(site)]


def derive(assessment: GistRiskAssessment) -> GistRiskAssessment | None:
    """The assessment with a derived category, or ``None`` when none can be derived."""
    if assessment.rupture:
        return replace(assessment, risk=GistRisk.HIGH, derived=True, text="tumour rupture")
    size, mitoses, site = assessment.size_cm, assessment.mitoses_per_5mm2, assessment.site
    if size is None or mitoses is None or site is None:
        return None
    cell = _cell(site, "low" if mitoses <= 5 else "high", _size_band(size))
    if cell is None or cell == "insufficient":
        return None
    text = f"{site.replace('-', '/')} GIST, {size} cm, {mitoses} mitoses per 5 mm2, AFIP table"
    return replace(assessment, risk=GistRisk(cell), derived=True, text=text)


def risk_assessments(patient: Patient) -> tuple[GistRiskAssessment, ...]:
    """Assessments with a category (recorded or derived), oldest first."""
    out: list[GistRiskAssessment] = []
    for item in patient.gist_risk:
        if item.risk is not None:
            out.append(item)
            continue
        derived = derive(item)
        if derived is not None:
            out.append(derived)
    return tuple(sorted(out, key=lambda a: a.date.lower_bound() if a.date else dt.date.min))
