"""Every KB rule's clinical cases: patient facts in, expected recommendation out (or silence)."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from rules import KnowledgeBase, Recommendation, evaluate, load_kb
from rules.loader import default_kb_path
from tests.rules.sarcoma_case_factory import CASES_DIR, Case, load_all_cases

KB: KnowledgeBase = load_kb()
CASES = load_all_cases()


def _fired(case: Case) -> list[Recommendation]:
    return evaluate(case.patient, KB, case.as_of, case.hook)


def _action_matches(expected: dict[str, object], rec: Recommendation) -> bool:
    for action in rec.actions:
        if action.type != expected["type"]:
            continue
        if "drug" in expected and (action.drug is None or action.drug.id != expected["drug"]):
            continue
        if "test" in expected and (action.test is None or action.test.id != expected["test"]):
            continue
        if "target" in expected and action.target_order_id != expected["target"]:
            continue
        if "dose" in expected and (
            action.dose_text is None or str(expected["dose"]) not in action.dose_text
        ):
            continue
        return True
    return False


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_case(case: Case) -> None:
    recs = [r for r in _fired(case) if r.rule_id == case.rule]
    if case.expect == "silent":
        assert recs == [], f"{case.rule} fired but must stay silent"
        return
    assert len(recs) == 1, f"{case.rule} did not fire"
    rec = recs[0]
    assert rec.findings, "a fired rule carries the findings that triggered it"
    if case.indicator:
        assert rec.indicator == case.indicator
    for text in case.summary_contains:
        assert text.lower() in rec.summary.lower(), f"summary lacks {text!r}: {rec.summary}"
    facts = " | ".join(f.text for f in rec.findings).lower()
    for text in case.findings_contain:
        assert text.lower() in facts, f"findings lack {text!r}: {facts}"
    for expected in case.actions:
        assert _action_matches(expected, rec), f"missing action {expected} in {rec.actions}"
    got = {d.id for d in rec.contraindicated}
    assert set(case.contraindicated) <= got
    if case.recommended is not None:
        recommended = any(a.recommended for a in rec.actions)
        assert recommended is case.recommended, f"recommended order: {recommended}"


def test_every_rule_has_firing_and_silent_cases() -> None:
    counts = Counter((c.rule, c.expect) for c in CASES)
    for compiled in KB.rules:
        rule_id = compiled.rule.id
        assert counts[(rule_id, "fire")] >= 1, f"{rule_id} has no case where it fires"
        assert counts[(rule_id, "silent")] >= 1, f"{rule_id} has no must-not-fire case"


def test_case_files_name_existing_rules() -> None:
    ids = {c.rule.id for c in KB.rules}
    for path in CASES_DIR.glob("*.yaml"):
        assert path.stem in ids, f"case file for unknown rule {path.stem}"


def test_case_index_matches_case_files() -> None:
    index = yaml.safe_load((default_kb_path() / "case-index.yaml").read_text(encoding="utf-8"))
    assert sorted(index["rules_with_cases"]) == sorted(p.stem for p in CASES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("hook", ["patient-view", "order-select", "order-sign"])
def test_no_suggestion_orders_a_drug_marked_contraindicated(hook: str) -> None:
    """Safety: no response suggests ordering a drug the same response marks as resisted."""
    checked = 0
    for case in CASES:
        recs = evaluate(case.patient, KB, case.as_of, hook)
        banned = {d.id for r in recs for d in r.contraindicated}
        for rec in recs:
            for action in rec.actions:
                if action.type in {"create-medication-request", "replace-draft"}:
                    assert action.drug is not None
                    assert action.drug.id not in banned, (
                        f"{case.id}: {rec.rule_id} orders {action.drug.id}"
                    )
                    checked += 1
            assert {o.drug.id for o in rec.options}.isdisjoint(banned), case.id
    assert checked > 0
