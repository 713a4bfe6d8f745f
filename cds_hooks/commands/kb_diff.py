"""``sarcoma-cds kb diff OLD NEW``: what changed between two knowledge-base versions.

OLD and NEW are knowledge-base directories (an older one can be taken out of git with
``git archive <rev> rules/kb | tar -x -C /tmp/old``). The report lists rules added, removed,
retired, changed (which fields) and whose review state changed, sources added or removed, and
then the clinical cases whose outcome changes: every packaged demo patient, plus every FHIR
Bundle or CDS Hooks request under ``--cases DIR``, is evaluated under both versions and the
fired rules (with their indicator) are compared.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cds_hooks.commands.inputs import HOOKS, InputError, as_call, read_document
from cds_hooks.demo import load_bundle, prefetch_for, scenarios
from fhir_mapping import map_prefetch
from rules import KnowledgeBase, KnowledgeBaseError, evaluate, load_kb
from rules.knowledge import Rule

#: Fields whose change is a change of review state, not of clinical content.
_REVIEW_FIELDS = frozenset({"status", "review", "signoff"})


@dataclass(frozen=True, slots=True)
class ClinicalCase:
    name: str
    hook: str
    prefetch: dict[str, Any]
    context: dict[str, Any]


@dataclass
class KbDiff:
    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    review_changed: dict[str, str] = field(default_factory=dict)
    sources_added: list[str] = field(default_factory=list)
    sources_removed: list[str] = field(default_factory=list)
    #: case name -> (outcome under OLD, outcome under NEW)
    outcomes: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    cases_run: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.retired
            or self.changed
            or self.review_changed
            or self.sources_added
            or self.sources_removed
            or self.outcomes
        )


def _review_state(rule: Rule) -> str:
    checked = f"checked by {rule.review.role} {rule.review.date.isoformat()}"
    if rule.signoff is not None:
        signed = f"signed off by {rule.signoff.role} {rule.signoff.date.isoformat()}"
        return f"{rule.status}, {signed}, {checked}"
    return f"{rule.status}, not yet clinically reviewed, {checked}"


def _changed_fields(old: Rule, new: Rule) -> list[str]:
    before = old.model_dump(mode="json")
    after = new.model_dump(mode="json")
    return sorted(
        key
        for key in before.keys() | after.keys()
        if key not in _REVIEW_FIELDS and before.get(key) != after.get(key)
    )


def demo_cases() -> list[ClinicalCase]:
    cases = []
    for item in scenarios():
        bundle = load_bundle(item.id)
        context = {"patientId": item.patient_id, "userId": "Practitioner/kb-diff"}
        cases.append(ClinicalCase(f"demo {item.id}", item.hook, prefetch_for(bundle), context))
    return cases


def file_cases(directory: Path) -> list[ClinicalCase]:
    """FHIR Bundles and CDS Hooks requests under ``directory``, read as ``evaluate`` reads
    them (a Bundle with draft orders is an order-sign case)."""
    cases = []
    for path in sorted(directory.rglob("*.json")):
        try:
            call = as_call(read_document(str(path)), None)
        except InputError:
            continue  # not a request or a Bundle: not a clinical case
        if call.hook in HOOKS:
            name = str(path.relative_to(directory))
            cases.append(ClinicalCase(name, call.hook, call.prefetch, call.context))
    return cases


def _outcome(kb: KnowledgeBase, case: ClinicalCase, as_of: date) -> list[str]:
    result = map_prefetch(case.prefetch, case.context)
    return sorted(
        f"{r.rule_id} ({r.indicator})" for r in evaluate(result.patient, kb, as_of, case.hook)
    )


def diff(old: KnowledgeBase, new: KnowledgeBase, cases: list[ClinicalCase], as_of: date) -> KbDiff:
    out = KbDiff(old.version, new.version)
    old_rules = {c.rule.id: c.rule for c in old.rules}
    new_rules = {c.rule.id: c.rule for c in new.rules}
    out.added = sorted(new_rules.keys() - old_rules.keys())
    out.removed = sorted(old_rules.keys() - new_rules.keys())
    for rule_id in sorted(old_rules.keys() & new_rules.keys()):
        before, after = old_rules[rule_id], new_rules[rule_id]
        if after.status == "retired" and before.status != "retired":
            out.retired.append(rule_id)
        fields = _changed_fields(before, after)
        if fields:
            out.changed[rule_id] = fields
        if _review_state(before) != _review_state(after):
            out.review_changed[rule_id] = f"{_review_state(before)} -> {_review_state(after)}"
    out.sources_added = sorted(new.sources.keys() - old.sources.keys())
    out.sources_removed = sorted(old.sources.keys() - new.sources.keys())
    for case in cases:
        out.cases_run += 1
        before_outcome, after_outcome = _outcome(old, case, as_of), _outcome(new, case, as_of)
        if before_outcome != after_outcome:
            out.outcomes[f"{case.name} [{case.hook}]"] = (before_outcome, after_outcome)
    return out


def format_diff(result: KbDiff) -> str:
    lines = [f"Knowledge base {result.old_version} -> {result.new_version}"]

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines.extend(f"  {item}" for item in items)

    section("Rules added", result.added)
    section("Rules removed", result.removed)
    section("Rules retired", result.retired)
    section("Rules changed", [f"{k}: {', '.join(v)}" for k, v in result.changed.items()])
    section("Review state changed", [f"{k}: {v}" for k, v in result.review_changed.items()])
    section("Sources added", result.sources_added)
    section("Sources removed", result.sources_removed)
    lines.append(
        f"Clinical cases whose outcome changes: {len(result.outcomes)} of {result.cases_run}"
    )
    for name, (before, after) in result.outcomes.items():
        gone = [r for r in before if r not in after]
        new = [r for r in after if r not in before]
        lines.append(f"  {name}")
        lines.extend(f"    - {r}" for r in gone)
        lines.extend(f"    + {r}" for r in new)
    if result.empty:
        lines.append("No differences.")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        old = load_kb(Path(args.old), case_index=True, legacy=True)
        new = load_kb(Path(args.new), case_index=True, legacy=True)
    except KnowledgeBaseError as exc:
        print(f"kb diff: {exc}", file=sys.stderr)
        return 3
    cases = demo_cases()
    if args.cases:
        cases += file_cases(Path(args.cases))
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    result = diff(old, new, cases, as_of)
    sys.stdout.write(format_diff(result))
    return 0


def register(kb_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = kb_sub.add_parser(
        "diff", help="rules added, changed or retired between two KB versions, and cases affected"
    )
    parser.add_argument("old", metavar="OLD", help="older knowledge-base directory")
    parser.add_argument("new", metavar="NEW", help="newer knowledge-base directory")
    parser.add_argument(
        "--cases", metavar="DIR", help="also evaluate the FHIR Bundles and CDS requests in DIR"
    )
    parser.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: today)")
    parser.set_defaults(func=run)
