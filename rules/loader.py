"""Load and validate the knowledge base. Any problem raises :class:`KnowledgeBaseError`.

Checks, in order: every file parses with ``yaml.safe_load`` and fits its schema (extra keys
forbidden); rule ids are unique and match their file names; every predicate exists and its
parameters validate; every value set, drug, test, citation, evidence level, histology and
jurisdiction a rule names exists; every rule that can run (active or pending-review) has a
citation and a clinical test case.
The KB version is the declared semantic version plus a digest of the files' content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

import rules.predicates_genomic  # noqa: F401  (registers the genotype predicates)
from rules import (
    predicates_populations,  # noqa: F401  (registers the special-population predicates)
    predicates_practice,  # noqa: F401  (registers the tolerability and practice predicates)
    predicates_setting,  # noqa: F401  (registers the disease-setting predicates)
    predicates_therapy,  # noqa: F401  (registers the therapy predicates)
)
from rules.interactions import InteractionClass  # noqa: F401  (registers comedication_class)
from rules.knowledge import (
    Criterion,
    KbMeta,
    Rule,
    Source,
    SourcesFile,
    ValueSetFile,
)
from rules.populations_tables import check_tables
from rules.predicates import PREDICATES, Params
from rules.valuesets import ValueSets
from rules.variant_classes import check_table, read_table

M = TypeVar("M", bound=BaseModel)


class KnowledgeBaseError(Exception):
    """The knowledge base is invalid; the service must not start. Lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid knowledge base:\n" + "\n".join(f"- {p}" for p in problems))


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


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    when: tuple[BoundCriterion, ...]
    unless: tuple[BoundCriterion, ...]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    version: str
    digest: str
    meta: KbMeta
    rules: tuple[CompiledRule, ...]
    sources: dict[str, Source]
    valuesets: ValueSets
    path: Path

    def active_rules(self) -> tuple[CompiledRule, ...]:
        """The rules the engine runs: signed-off (``active``) rules, plus ``pending-review``
        rules when the site shows unreviewed rules (``meta.unreviewed_rules: show``)."""
        show_unreviewed = self.meta.unreviewed_rules == "show"
        return tuple(
            r
            for r in self.rules
            if r.rule.status == "active" or (show_unreviewed and r.rule.status == "pending-review")
        )

    def rule(self, rule_id: str) -> CompiledRule:
        for compiled in self.rules:
            if compiled.rule.id == rule_id:
                return compiled
        raise KeyError(rule_id)

    def level_rank(self, level: str) -> int:
        return self.meta.level_rank(level)


def default_kb_path() -> Path:
    return Path(str(resources.files("rules"))) / "kb"


def default_cases_dir() -> Path | None:
    candidate = Path(__file__).resolve().parent.parent / "tests" / "rules" / "cases"
    return candidate if candidate.is_dir() else None


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: cannot read YAML ({type(exc).__name__})")
        return None


def _validate(model: type[M], data: Any, where: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"{where}: {loc}: {err['msg']}")
        return None


def _yaml_files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(directory.glob("*.yaml"))


def _digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(b"\0")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


def load_kb(
    path: Path | None = None,
    cases_dir: Path | None = None,
    *,
    case_index: bool = False,
    legacy: bool = False,
) -> KnowledgeBase:
    """Load the KB at ``path`` (default: the packaged ``rules/kb``) and validate it all.

    ``cases_dir`` holds the per-rule clinical test cases (``<rule-id>.yaml``). By default it
    is the repository's ``tests/rules/cases`` when present, else the KB's ``case-index.yaml``
    (the list of rule ids with cases, which a test keeps equal to the case files).
    ``case_index=True`` always uses the KB's own index (for an older KB taken out of git), and
    ``legacy=True`` reads rule files of KB 1.0 (``reviewed_on``/``reviewed_by``, no sign-off
    record) as ``pending-review``: for comparing versions, never for serving.
    """
    root = Path(path) if path is not None else default_kb_path()
    problems: list[str] = []
    if not root.is_dir():
        raise KnowledgeBaseError([f"knowledge base directory not found: {root}"])

    meta = _validate(KbMeta, _read_yaml(root / "meta.yaml", problems), "meta.yaml", problems)
    sources_file = _validate(
        SourcesFile, _read_yaml(root / "sources.yaml", problems), "sources.yaml", problems
    )
    sources: dict[str, Source] = {}
    for source in sources_file.sources if sources_file else []:
        if source.key in sources:
            problems.append(f"sources.yaml: duplicate key {source.key}")
        if source.url is None and source.doi is None and source.citation is None:
            problems.append(f"sources.yaml: {source.key} has neither url, doi nor citation")
        sources[source.key] = source

    vs_files: dict[str, ValueSetFile] = {}
    for file in _yaml_files(root / "valuesets"):
        vs = _validate(ValueSetFile, _read_yaml(file, problems), f"valuesets/{file.name}", problems)
        if vs is None:
            continue
        if vs.id != file.stem:
            problems.append(f"valuesets/{file.name}: id {vs.id} does not match the file name")
        if vs.id in vs_files:
            problems.append(f"valuesets/{file.name}: duplicate id {vs.id}")
        problems.extend(
            f"valuesets/{file.name}: unknown source {key}"
            for key in vs.sources
            if key not in sources
        )
        if not vs.codes and not vs.includes and not vs.names:
            problems.append(f"valuesets/{file.name}: no codes, names or includes")
        if vs.kind in {"drug", "test"} and not vs.display:
            problems.append(f"valuesets/{file.name}: {vs.kind} value sets need a display")
        vs_files[vs.id] = vs
    for vs in vs_files.values():
        problems.extend(
            f"valuesets/{vs.id}.yaml: includes unknown value set {inc}"
            for inc in vs.includes
            if inc not in vs_files
        )
    valuesets: ValueSets | None = None
    if not any(p.startswith("valuesets/") for p in problems):
        try:
            valuesets = ValueSets(vs_files)
        except (ValueError, KeyError) as exc:
            problems.append(f"valuesets: {exc}")

    if (root / "variant_classes.yaml").is_file():
        try:
            problems.extend(check_table(read_table(root), sources, vs_files))
        except (ValidationError, yaml.YAMLError) as exc:
            problems.append(f"variant_classes.yaml: {exc}")

    problems.extend(check_tables(root, set(sources), set(vs_files)))

    case_ids = _case_ids(root, cases_dir, problems, case_index)
    compiled: list[CompiledRule] = []
    seen: set[str] = set()
    rule_files = list(_yaml_files(root / "rules"))
    if not rule_files:
        problems.append("rules/: no rule files")
    for file in rule_files:
        where = f"rules/{file.name}"
        data = _read_yaml(file, problems)
        rule = _validate(Rule, upgrade_legacy_rule(data) if legacy else data, where, problems)
        if rule is None:
            continue
        if rule.id != file.stem:
            problems.append(f"{where}: id {rule.id} does not match the file name")
        if rule.id in seen:
            problems.append(f"{where}: duplicate rule id {rule.id}")
        seen.add(rule.id)
        if meta is not None and valuesets is not None:
            checked = _check_rule(rule, where, meta, sources, valuesets, case_ids, problems)
            if checked is not None:
                compiled.append(checked)

    if meta is not None and meta.jurisdiction not in {j.id for j in meta.jurisdictions}:
        problems.append(f"meta.yaml: jurisdiction {meta.jurisdiction} is not declared")
    if problems or meta is None or valuesets is None:
        raise KnowledgeBaseError(problems or ["knowledge base could not be loaded"])
    digest = _digest(root)
    return KnowledgeBase(
        version=f"{meta.version}+{digest[:12]}",
        digest=digest,
        meta=meta,
        rules=tuple(sorted(compiled, key=lambda c: c.rule.id)),
        sources=sources,
        valuesets=valuesets,
        path=root,
    )


def upgrade_legacy_rule(data: Any) -> Any:
    """A KB 1.0 rule record in the current shape. Those rules had no clinical sign-off."""
    if not isinstance(data, dict) or "reviewed_on" not in data:
        return data
    data = dict(data)
    reviewed_on = data.pop("reviewed_on")
    data.pop("reviewed_by", None)
    if data.get("status") == "active":
        data["status"] = "pending-review"
    data["review"] = {
        "role": "unrecorded (KB 1.0 record)",
        "date": reviewed_on,
        "checked": "not recorded in KB 1.0",
    }
    return data


def _case_ids(
    root: Path, cases_dir: Path | None, problems: list[str], case_index: bool = False
) -> set[str]:
    directory = None if case_index else cases_dir or default_cases_dir()
    if directory is not None:
        return {p.stem for p in _yaml_files(directory)}
    index = _read_yaml(root / "case-index.yaml", problems)
    if not isinstance(index, dict) or not isinstance(index.get("rules_with_cases"), list):
        problems.append("case-index.yaml: missing list rules_with_cases")
        return set()
    return {str(item) for item in index["rules_with_cases"]}


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


def _check_rule(
    rule: Rule,
    where: str,
    meta: KbMeta,
    sources: dict[str, Source],
    valuesets: ValueSets,
    case_ids: set[str],
    problems: list[str],
) -> CompiledRule | None:
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
