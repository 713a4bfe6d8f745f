"""The closed, typed predicate registry. Rules name predicates; only code defines them.

Each predicate takes the evaluation :class:`Context` and its validated parameters, and returns
the findings that made it true (an empty tuple means false), so every card can say *why*.
Predicates never read the clock: ``as_of`` comes from the caller.

This module holds the registry, the shared helpers and the diagnosis and age predicates;
the other families register themselves from :mod:`rules.predicates_biomarker`,
:mod:`rules.predicates_therapy`, :mod:`rules.predicates_orders`, :mod:`rules.predicates_genomic`,
:mod:`rules.predicates_wild_type`, :mod:`rules.predicates_setting` and :mod:`rules.interactions`
(all imported by the loader).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rules import wording
from rules.extent import Extent
from rules.patient import (
    Agent,
    Biomarker,
    Diagnosis,
    Histology,
    HistologySubtype,
    LineOfTherapy,
    Patient,
    TherapyExposure,
)
from rules.results import Finding
from rules.setting import Setting
from rules.valuesets import ATC, RXNORM, ValueSets

Findings = tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Context:
    patient: Patient
    valuesets: ValueSets
    as_of: date
    hook: str
    lines: tuple[LineOfTherapy, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The current disease setting (rules.setting), computed once per evaluation.
    setting: Setting = field(default_factory=lambda: Setting(Extent.UNKNOWN))
    # Findings per criterion within one evaluation: rules share criteria (histology, draft
    # order of a drug...), and a predicate is a pure function of the patient and its params.
    memo: dict[str, Findings] = field(default_factory=dict)
    #: Whether a criterion holds, by the same key, when only that was asked (``unless``).
    held: dict[str, bool] = field(default_factory=dict)
    #: :func:`exposure_matches` answers within one evaluation, by (value set, id of the agent,
    #: code system, code); the agent is kept alive by ``drug_codes``.
    matched: dict[tuple[str | int, ...], bool] = field(default_factory=dict)
    #: A drug's normalised codes (ValueSets.normalised), by (id of the agent, code system,
    #: code), with the agent itself so that its id stays its own for the evaluation.
    drug_codes: dict[tuple[str | int, ...], tuple[Agent, tuple[tuple[str, str], ...]]] = field(
        default_factory=dict
    )
    #: Other facts derived from the patient within one evaluation (the variant classes of a
    #: finding, the first kinase inhibitor...), by a key naming the fact: several predicates
    #: and rules ask for the same one.
    derived: dict[tuple[str, object], Any] = field(default_factory=dict)


class Params(BaseModel):
    """Base for predicate parameters: strict, immutable; declares its value-set fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    refs: ClassVar[dict[str, tuple[str, ...]]] = {}

    def valueset_refs(self) -> list[tuple[str, tuple[str, ...]]]:
        out: list[tuple[str, tuple[str, ...]]] = []
        for name, kinds in self.refs.items():
            value = getattr(self, name)
            if isinstance(value, str):
                out.append((value, kinds))
            elif isinstance(value, list | tuple):
                out.extend((str(v), kinds) for v in value)
        return out


P = TypeVar("P", bound=Params)
PredicateFn = Callable[[Context, Any], Findings]


#: Whether a predicate holds (``bool`` of its findings), answered without building them.
HoldsFn = Callable[[Context, Any], bool]


@dataclass(frozen=True, slots=True)
class PredicateSpec:
    name: str
    params: type[Params]
    fn: PredicateFn
    yields_order: bool
    doc: str
    #: ``bool(fn(ctx, params))`` computed more cheaply (no finding texts), for ``unless``
    #: criteria, which only ask whether a predicate holds; None: the engine calls ``fn``.
    holds: HoldsFn | None = None


PREDICATES: dict[str, PredicateSpec] = {}


def predicate(
    name: str, params: type[P], *, yields_order: bool = False
) -> Callable[[Callable[[Context, P], Findings]], Callable[[Context, P], Findings]]:
    def register(fn: Callable[[Context, P], Findings]) -> Callable[[Context, P], Findings]:
        if name in PREDICATES:
            raise ValueError(f"predicate {name} registered twice")
        PREDICATES[name] = PredicateSpec(
            name=name,
            params=params,
            fn=fn,
            yields_order=yields_order,
            doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name,
        )
        return fn

    return register


def predicate_holds(
    name: str, params: type[P]
) -> Callable[[Callable[[Context, P], bool]], Callable[[Context, P], bool]]:
    """Register the cheap ``bool`` form of predicate ``name`` (see :attr:`PredicateSpec.holds`);
    it must equal ``bool(fn(ctx, params))`` on every input (tests/rules check it does)."""

    def register(fn: Callable[[Context, P], bool]) -> Callable[[Context, P], bool]:
        spec = PREDICATES[name]
        if spec.holds is not None or spec.params is not params:
            raise ValueError(f"holds for {name} registered twice or with other parameters")
        PREDICATES[name] = replace(spec, holds=fn)
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# helpers

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V",
}  # fmt: skip
_P3_RE = re.compile(r"p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)?")


def protein_short(hgvs_p: str | None) -> str | None:
    """``p.Asp842Val`` -> ``D842V`` (single substitutions only)."""
    if not hgvs_p:
        return None
    match = _P3_RE.search(hgvs_p)
    if not match or match.group(1) not in _AA3 or match.group(3) not in _AA3:
        return None
    return f"{_AA3[match.group(1)]}{match.group(2)}{_AA3[match.group(3)]}"


def _ref(ref: str | None) -> str | None:
    return ref or None


def diagnosis_text(diagnosis: Diagnosis, labels: Mapping[str, str]) -> str:
    name = wording.diagnosis_name(diagnosis.histology.value, diagnosis.subtype, labels)
    return f"Diagnosis: {wording.with_recorded_as(name, diagnosis.code.display)}"


def biomarker_text(marker: Biomarker) -> str:
    symbols = [g.symbol for g in marker.genes]
    genes = wording.fusion(symbols) if marker.partners else marker.gene.symbol
    detail = []
    if marker.exon is not None:
        detail.append(f"exon {marker.exon}")
    short = marker.hotspot or protein_short(marker.hgvs_p)
    if short:
        detail.append(short)
    elif marker.hgvs_p:
        detail.append(marker.hgvs_p)
    kind = marker.kind.value
    what = f"{genes} {kind}" + (f" ({', '.join(detail)})" if detail else "")
    result = {"present": "detected", "absent": "not detected"}.get(
        marker.result.value, marker.result.value
    )
    suffix = " [text-derived, low confidence]" if marker.confidence.value != "coded" else ""
    return f"{what}: {result}{suffix}"


def _agent_codes(exposure_agent_rx: str | None, atc: str | None) -> list[tuple[str, str]]:
    codes: list[tuple[str, str]] = []
    if exposure_agent_rx:
        codes.append((RXNORM, exposure_agent_rx))
    if atc:
        codes.append((ATC, atc))
    return codes


def exposure_matches(ctx: Context, vs_id: str, exposure: TherapyExposure) -> bool:
    """The exposure's drug is in value set ``vs_id`` (by its codes, else by its name).

    Answered once per call for each value set, drug and code: the orders of the cycles of one
    regimen (dozens on a year-long record) share them."""
    agent, code = exposure.agent, exposure.code
    # The code's display plays no part in matching; the agent is one object per drug.
    drug: tuple[str | int, ...] = (
        (id(agent),) if code is None else (id(agent), code.system, code.code)
    )
    key = (vs_id, *drug)
    found = ctx.matched.get(key)
    if found is None:
        known = ctx.drug_codes.get(drug)
        if known is None:
            codes = _agent_codes(agent.rxnorm, agent.atc)
            if code is not None:
                codes.append((code.system, code.code))
            known = ctx.drug_codes[drug] = (agent, ctx.valuesets.normalised(codes))
        found = ctx.matched[key] = ctx.valuesets.matches_normalised(
            vs_id, known[1], agent.ingredient
        )
    return found


def dose_text(exposure: TherapyExposure) -> str:
    if exposure.dose is not None and exposure.dose.schedule:
        return f" at {exposure.dose.schedule}"
    return ""


def exposure_text(exposure: TherapyExposure, prefix: str = "") -> str:
    name = exposure.agent.ingredient or (exposure.code.display if exposure.code else "drug")
    when = ""
    if exposure.start is not None:
        when = f" from {exposure.start}"
        if exposure.end is not None:
            when += f" to {exposure.end}"
    ended = wording.stopped(exposure.stop_reason)
    stop = f", {ended}" if ended else ""
    return f"{prefix}{name}{dose_text(exposure)}{when}{stop}"


def mg_per_day(exposure: TherapyExposure) -> Decimal | None:
    return exposure.dose.mg_per_day if exposure.dose is not None else None


# ---------------------------------------------------------------------------------------------
# diagnosis


class HistologyParams(Params):
    any: list[Histology] = Field(min_length=1)
    subtype: list[HistologySubtype] = Field(default_factory=list)


@predicate("histology", HistologyParams)
def histology(ctx: Context, a: HistologyParams) -> Findings:
    """An active diagnosis of one of the listed histologies (optionally subtypes)."""
    hits = [
        d
        for d in ctx.patient.diagnoses
        if d.is_active
        and d.histology in a.any
        and (not a.subtype or (d.subtype is not None and d.subtype in a.subtype))
    ]
    hits.sort(key=lambda d: (-d.specificity, d.source_ref))
    return tuple(Finding(diagnosis_text(d, ctx.labels), _ref(d.source_ref)) for d in hits[:1])


class NoParams(Params):
    pass


@predicate("sarcoma_diagnosis", NoParams)
def sarcoma_diagnosis(ctx: Context, a: NoParams) -> Findings:
    """An active sarcoma diagnosis of any histology, including sarcoma NOS."""
    hits = [d for d in ctx.patient.diagnoses if d.is_active and d.histology.specificity >= 1]
    hits.sort(key=lambda d: (-d.specificity, d.source_ref))
    return tuple(Finding(diagnosis_text(d, ctx.labels), _ref(d.source_ref)) for d in hits[:1])


@predicate("no_specific_histology", NoParams)
def no_specific_histology(ctx: Context, a: NoParams) -> Findings:
    """No diagnosis on record names a specific sarcoma histology."""
    if any(d.histology.specificity == 2 for d in ctx.patient.diagnoses):
        return ()
    vague = [d for d in ctx.patient.diagnoses if d.histology.specificity == 1]
    if vague:
        return tuple(
            Finding(
                "Only a non-specific diagnosis is on record "
                f"({d.code.display or d.code.code}); no histologic subtype",
                _ref(d.source_ref),
            )
            for d in vague[:1]
        )
    return (Finding("No sarcoma diagnosis with a histologic subtype is on record", None),)


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class AgeParams(Params):
    #: true only when the patient is certainly younger than this many years
    below: int | None = Field(default=None, ge=1)
    #: true only when the patient is certainly at least this many years old
    at_least: int | None = Field(default=None, ge=1)


@predicate("age", AgeParams)
def age(ctx: Context, a: AgeParams) -> Findings:
    """The patient's age on ``as_of`` from ``Patient.birthDate`` (partial dates kept: a birth
    year alone gives a range). False when the birth date is unknown or the range straddles the
    limit."""
    born = ctx.patient.birth_date
    if born is None:
        return ()
    youngest = _years_between(born.upper_bound(), ctx.as_of)
    oldest = _years_between(born.lower_bound(), ctx.as_of)
    if a.below is not None and not oldest < a.below:
        return ()
    if a.at_least is not None and not youngest >= a.at_least:
        return ()
    shown = str(youngest) if youngest == oldest else f"{youngest}-{oldest}"
    ref = f"Patient/{ctx.patient.patient_id}" if ctx.patient.patient_id else None
    return (Finding(f"Age {shown} years (born {born.isoformat()})", ref),)
