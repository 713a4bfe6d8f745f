"""Knowledge-base validation: the packaged KB loads; every kind of broken knowledge is refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from rules import KnowledgeBaseError, load_kb
from rules.loader import default_kb_path

CASES = Path(__file__).parent / "cases"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(default_kb_path(), target)
    return target


def _edit_rule(kb: Path, rule_id: str, change: Callable[[dict], None]) -> None:
    path = kb / "rules" / f"{rule_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _problems(kb: Path, cases_dir: Path = CASES) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as excinfo:
        load_kb(kb, cases_dir=cases_dir)
    return excinfo.value.problems


def test_packaged_kb_loads_with_a_content_version() -> None:
    kb = load_kb()
    assert kb.version.startswith(kb.meta.version + "+")
    assert len(kb.digest) == 64
    assert len(kb.active_rules()) >= 50
    assert all(c.rule.citations for c in kb.active_rules())


def test_packaged_kb_loads_from_the_case_index_when_no_case_dir(kb_copy: Path) -> None:
    kb = load_kb(kb_copy, cases_dir=None)
    assert kb.rule("gist-first-line-imatinib").rule.status == "pending-review"


def test_version_changes_when_knowledge_changes(kb_copy: Path) -> None:
    before = load_kb(kb_copy, cases_dir=CASES).version
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(title="DFSP: imatinib (edited)"))
    assert load_kb(kb_copy, cases_dir=CASES).version != before


def test_unknown_predicate_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["when"].append({"age_over": {"years": 18}}))
    assert any("unknown predicate age_over" in p for p in _problems(kb_copy))


def test_bad_predicate_parameters_are_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["when"].append({"histology": {"any": ["x"]}}))
    assert any("histology.any" in p for p in _problems(kb_copy))


def test_unknown_value_set_is_refused(kb_copy: Path) -> None:
    _edit_rule(
        kb_copy, "dfsp-imatinib", lambda d: d["unless"].append({"exposure": {"drug": "drug-x"}})
    )
    assert any("unknown value set drug-x" in p for p in _problems(kb_copy))


def test_unknown_citation_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["citations"].append("pmid-0"))
    assert any("unknown citation pmid-0" in p for p in _problems(kb_copy))


def test_active_rule_without_citation_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(citations=[]))
    assert any("without a citation" in p for p in _problems(kb_copy))


def test_active_rule_without_test_case_is_refused(kb_copy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(CASES, cases)
    (cases / "dfsp-imatinib.yaml").unlink()
    assert any("without a test case" in p for p in _problems(kb_copy, cases))


def test_active_status_without_clinical_signoff_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(status="active"))
    assert any("needs a clinical signoff" in p for p in _problems(kb_copy))


def test_signoff_on_a_pending_rule_is_refused(kb_copy: Path) -> None:
    signoff = {"role": "sarcoma medical oncologist", "date": "2026-11-30"}
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(signoff=signoff))
    assert any("cannot be pending-review" in p for p in _problems(kb_copy))


@pytest.mark.parametrize("who", ["issue-5 author", "review agent", "LLM", "import script"])
def test_review_names_a_role_not_a_ticket_or_tool(kb_copy: Path, who: str) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["review"].update(role=who))
    assert any("name a role" in p for p in _problems(kb_copy))


def test_signed_off_rule_loads_as_active_and_only_it_runs_when_unreviewed_are_hidden(
    kb_copy: Path,
) -> None:
    signoff = {"role": "sarcoma medical oncologist", "date": "2026-11-30"}
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(status="active", signoff=signoff))
    shown = load_kb(kb_copy, cases_dir=CASES)
    assert shown.rule("dfsp-imatinib").rule.clinically_reviewed
    assert len(shown.active_rules()) == len(shown.rules)
    meta = kb_copy / "meta.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(
            "unreviewed_rules: show", "unreviewed_rules: hide"
        ),
        encoding="utf-8",
    )
    hidden = load_kb(kb_copy, cases_dir=CASES)
    assert [c.rule.id for c in hidden.active_rules()] == ["dfsp-imatinib"]


def test_draft_and_retired_rules_never_run_and_need_no_case(kb_copy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(CASES, cases)
    (cases / "dfsp-imatinib.yaml").unlink()
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(status="retired"))
    kb = load_kb(kb_copy, cases_dir=cases)
    assert "dfsp-imatinib" not in {c.rule.id for c in kb.active_rules()}


def test_unknown_key_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(priority="high"))
    assert any("priority" in p and "Extra inputs" in p for p in _problems(kb_copy))


def test_yaml_boolean_key_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "rules" / "dfsp-imatinib.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "on: true\n", encoding="utf-8")
    assert any("dfsp-imatinib" in p for p in _problems(kb_copy))


def test_step_without_a_line_of_therapy_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "cyp3a4-imatinib", lambda d: d.update(step="after-progression"))
    assert any(
        "cyp3a4-imatinib" in p and "needs the line of therapy" in p for p in _problems(kb_copy)
    )


def test_unknown_step_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "gist-imatinib-progression-escalate", lambda d: d.update(step="maybe"))
    assert any("step" in p and "after-progression" in p for p in _problems(kb_copy))


def test_evidence_level_off_the_scale_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(evidence={"level": "expert-hunch"}))
    assert any("not on the scale" in p for p in _problems(kb_copy))


def test_summary_over_139_characters_is_refused(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["then"].update(summary="x" * 140))
    assert any("then.summary" in p for p in _problems(kb_copy))


def test_draft_action_without_draft_criterion_is_refused(kb_copy: Path) -> None:
    def change(d: dict) -> None:
        d["then"]["actions"] = [{"type": "delete-draft", "label": "Remove"}]

    _edit_rule(kb_copy, "dfsp-imatinib", change)
    assert any("needs a draft-order criterion" in p for p in _problems(kb_copy))


def test_rule_id_must_match_file_name(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d.update(id="dfsp-imatinib-2"))
    assert any("does not match the file name" in p for p in _problems(kb_copy))


def test_value_set_with_unknown_source_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "valuesets" / "drug-imatinib.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sources"] = ["nowhere"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert any("unknown source nowhere" in p for p in _problems(kb_copy))


def test_value_set_include_cycle_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "valuesets" / "group-cytotoxic-chemotherapy.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["includes"].append("group-systemic-sarcoma-therapy")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert any("cycle" in p for p in _problems(kb_copy))


def test_undeclared_jurisdiction_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "meta.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["jurisdiction"] = "XX"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert any("jurisdiction XX" in p for p in _problems(kb_copy))


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    assert any("not found" in p for p in _problems(tmp_path / "nope"))


def test_error_message_lists_every_problem(kb_copy: Path) -> None:
    _edit_rule(kb_copy, "dfsp-imatinib", lambda d: d["citations"].append("pmid-0"))
    _edit_rule(kb_copy, "emc-pazopanib", lambda d: d["citations"].append("pmid-1"))
    with pytest.raises(KnowledgeBaseError) as excinfo:
        load_kb(kb_copy, cases_dir=CASES)
    assert "pmid-0" in str(excinfo.value) and "pmid-1" in str(excinfo.value)
