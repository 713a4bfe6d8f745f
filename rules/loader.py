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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

import rules.predicates_genomic  # noqa: F401  (registers the genotype predicates)
from rules import (
    predicates_biomarker,  # noqa: F401  (registers the biomarker predicates)
    predicates_orders,  # noqa: F401  (registers the draft-order and current-therapy predicates)
    predicates_populations,  # noqa: F401  (registers the special-population predicates)
    predicates_practice,  # noqa: F401  (registers the tolerability and practice predicates)
    predicates_setting,  # noqa: F401  (registers the disease-setting predicates)
    predicates_therapy,  # noqa: F401  (registers the therapy predicates)
    predicates_wild_type,  # noqa: F401  (registers the wild-type GIST predicates)
)
from rules.compiled import BoundCriterion, CompiledRule, check_rule
from rules.interactions import InteractionClass  # noqa: F401  (registers comedication_class)
from rules.knowledge import (
    KbMeta,
    Rule,
    Source,
    SourcesFile,
    ValueSetFile,
)
from rules.populations_tables import check_tables
from rules.valuesets import ValueSets
from rules.variant_classes import check_table, read_table

__all__ = [
    "BoundCriterion",  # re-exported from rules.compiled
    "CompiledRule",  # re-exported from rules.compiled
    "KnowledgeBase",
    "KnowledgeBaseError",
    "default_cases_dir",
    "default_kb_path",
    "load_kb",
    "upgrade_legacy_rule",
]

M = TypeVar("M", bound=BaseModel)


class KnowledgeBaseError(Exception):
    """The knowledge base is invalid; the service must not start. Lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid knowledge base:\n" + "\n".join(f"- {p}" for p in problems))


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
            checked = check_rule(rule, where, meta, sources, valuesets, case_ids, problems)
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
