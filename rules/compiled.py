"""A rule compiled against the knowledge base: its criteria bound to registered predicates with
validated parameters, and every cross-reference (value sets, citations, evidence level,
histology, jurisdictions, test cases, draft-order actions) checked. Used by
:func:`rules.loader.load_kb`, which registers the predicates before any rule is bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rules.knowledge import Criterion, KbMeta, Rule, Source
from rules.predicates import PREDICATES, Context, Findings, Params
from rules.results import Finding
from rules.valuesets import ValueSets


@dataclass(frozen=True, slots=True)
class BoundCriterion:
    name: str
    params: Params | None
    any_of: tuple[BoundCriterion, ...] = ()
    #: Identity of the criterion's meaning (name and parameters), for memoisation.
    key: str = field(init=False, compare=False, default="")

    def __post_init__(self) -> None:
        if self.name == "any_of":
            key = "any_of(" + "|".join(c.key for c in self.any_of) + ")"
        else:
            params = self.params.model_dump_json() if self.params is not None else ""
            key = f"{self.name}:{params}"
        object.__setattr__(self, "key", key)

    def describe(self) -> str:
        if self.name == "any_of":
            return "any of (" + "; ".join(c.describe() for c in self.any_of) + ")"
        assert self.params is not None
        args = self.params.model_dump(exclude_defaults=True)
        inner = ", ".join(f"{k}={_short(v)}" for k, v in sorted(args.items()))
        return f"{self.name}({inner})"


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


#: A criterion compiled for one evaluation context: its findings (empty: false).
Check = Callable[[Context], Findings]
#: A criterion compiled to say only whether it holds (``unless``).
Veto = Callable[[Context], bool]


def finder(criterion: BoundCriterion) -> Check:
    """The criterion as a closure: its findings, memoised per evaluation by its key (rules
    share criteria); ``any_of`` concatenates the findings of its parts."""
    if criterion.name == "any_of":
        parts = tuple(finder(part) for part in criterion.any_of)

        def any_of(ctx: Context) -> Findings:
            found: list[Finding] = []
            for part in parts:
                found.extend(part(ctx))
            return tuple(found)

        return any_of
    key, fn, params = criterion.key, PREDICATES[criterion.name].fn, criterion.params

    def check(ctx: Context) -> Findings:
        memo = ctx.memo
        found = memo.get(key)
        if found is None:
            found = memo[key] = fn(ctx, params)
        return found

    return check


def vetoer(criterion: BoundCriterion) -> Veto:
    """The criterion as a closure saying whether it holds: from its findings when another
    rule has asked for them, else from the predicate's cheap form when it has one
    (:attr:`rules.predicates.PredicateSpec.holds`), memoised per evaluation by its key."""
    if criterion.name == "any_of":
        parts = tuple(vetoer(part) for part in criterion.any_of)

        def any_of(ctx: Context) -> bool:
            return any(part(ctx) for part in parts)

        return any_of
    spec = PREDICATES[criterion.name]
    key, fn, cheap, params = criterion.key, spec.fn, spec.holds, criterion.params

    def holds(ctx: Context) -> bool:
        found = ctx.memo.get(key)
        if found is not None:
            return bool(found)
        if cheap is None:
            found = ctx.memo[key] = fn(ctx, params)
            return bool(found)
        held = ctx.held.get(key)
        if held is None:
            held = ctx.held[key] = cheap(ctx, params)
        return held

    return holds


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    when: tuple[BoundCriterion, ...]
    unless: tuple[BoundCriterion, ...]
    #: ``when`` and ``unless`` compiled once (:func:`finder`, :func:`vetoer`).
    checks: tuple[Check, ...] = field(init=False, compare=False, repr=False, default=())
    vetoes: tuple[Veto, ...] = field(init=False, compare=False, repr=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(finder(c) for c in self.when))
        object.__setattr__(self, "vetoes", tuple(vetoer(c) for c in self.unless))


def _bind(
    criterion: Criterion, where: str, valuesets: ValueSets, problems: list[str]
) -> BoundCriterion | None:
    if criterion.name == "any_of":
        parts = [_bind(c, where, valuesets, problems) for c in criterion.any_of]
        if any(p is None for p in parts):
            return None
        return BoundCriterion("any_of", None, tuple(p for p in parts if p is not None))
    spec = PREDICATES.get(criterion.name)
    if spec is None:
        problems.append(f"{where}: unknown predicate {criterion.name}")
        return None
    try:
        params = spec.params.model_validate(criterion.params)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"{where}: {criterion.name}.{loc}: {err['msg']}")
        return None
    for vs_id, kinds in params.valueset_refs():
        if vs_id not in valuesets:
            problems.append(f"{where}: {criterion.name} names unknown value set {vs_id}")
        elif kinds and valuesets.kind(vs_id) not in kinds:
            problems.append(
                f"{where}: {criterion.name} needs a {'/'.join(kinds)} value set, {vs_id} is "
                f"{valuesets.kind(vs_id)}"
            )
    return BoundCriterion(criterion.name, params)


def _yields_order(criterion: BoundCriterion) -> bool:
    if criterion.name == "any_of":
        return all(_yields_order(c) for c in criterion.any_of)
    return PREDICATES[criterion.name].yields_order


def check_rule(
    rule: Rule,
    where: str,
    meta: KbMeta,
    sources: dict[str, Source],
    valuesets: ValueSets,
    case_ids: set[str],
    problems: list[str],
) -> CompiledRule | None:
    """``rule`` with its criteria bound, or None (and ``problems`` extended) if it does not
    check against the KB's meta, sources, value sets and test cases."""
    before = len(problems)
    when = [_bind(c, f"{where}: when", valuesets, problems) for c in rule.when]
    unless = [_bind(c, f"{where}: unless", valuesets, problems) for c in rule.unless]
    problems.extend(
        f"{where}: unknown citation {key}" for key in rule.citations if key not in sources
    )
    if rule.runnable:
        if not rule.citations:
            problems.append(f"{where}: {rule.status} rule without a citation")
        if rule.id not in case_ids:
            problems.append(f"{where}: {rule.status} rule without a test case file {rule.id}.yaml")
    try:
        meta.level_rank(rule.evidence.level)
    except KeyError:
        problems.append(f"{where}: evidence level {rule.evidence.level} is not on the scale")
    try:
        meta.histology_label(rule.histology)
    except KeyError:
        problems.append(f"{where}: histology {rule.histology} is not declared in meta.yaml")

    def need(vs_id: str | None, kinds: set[str], what: str) -> None:
        if vs_id is None:
            problems.append(f"{where}: {what} is missing")
        elif vs_id not in valuesets:
            problems.append(f"{where}: {what} names unknown value set {vs_id}")
        elif valuesets.kind(vs_id) not in kinds:
            problems.append(f"{where}: {what} {vs_id} is not a {'/'.join(sorted(kinds))} set")

    for option in rule.then.options:
        need(option.drug, {"drug"}, "option drug")
    for drug in rule.then.contraindicated_drugs:
        need(drug, {"drug", "drug-group"}, "contraindicated drug")
    has_order = any(c is not None and _yields_order(c) for c in when)
    for action in rule.then.actions:
        if action.type in {"create-medication-request", "replace-draft"}:
            need(action.drug, {"drug"}, f"{action.type} drug")
        if action.type == "create-service-request":
            need(action.test, {"test"}, "create-service-request test")
        if action.type == "update-draft-dose" and action.dose is None:
            problems.append(f"{where}: update-draft-dose needs a dose")
        if action.type in {"replace-draft", "update-draft-dose", "delete-draft"} and not has_order:
            problems.append(f"{where}: {action.type} needs a draft-order criterion in when")
    for note in rule.regulatory:
        if note.jurisdiction not in {j.id for j in meta.jurisdictions}:
            problems.append(f"{where}: regulatory jurisdiction {note.jurisdiction} undeclared")
        need(note.drug, {"drug"}, "regulatory drug")
        problems.extend(
            f"{where}: unknown regulatory citation {key}"
            for key in note.citations
            if key not in sources
        )
    if rule.line is not None and rule.line >= 1 and rule.setting is None:
        problems.append(
            f"{where}: a rule for a line of therapy needs setting: advanced (advanced-disease "
            "advice must not fire for localized or resected disease)"
        )
    if rule.then.kind in {"warning"} and rule.then.indicator == "info":
        problems.append(f"{where}: a warning rule needs indicator warning or critical")
    if len(problems) > before:
        return None
    return CompiledRule(
        rule=rule,
        when=tuple(c for c in when if c is not None),
        unless=tuple(c for c in unless if c is not None),
    )
