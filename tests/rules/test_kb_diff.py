"""``sarcoma-cds kb diff``: rules added, changed, retired, review changes, and affected cases."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from cds_hooks.cli import main
from cds_hooks.commands.kb_diff import demo_cases, diff, file_cases, format_diff
from cds_hooks.demo import load_bundle, scenarios
from rules import load_kb
from rules.loader import default_kb_path

AS_OF = date(2026, 11, 30)


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(default_kb_path(), target)
    return target


def _edit(kb: Path, rule_id: str, **changes: object) -> None:
    path = kb / "rules" / f"{rule_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _load(kb: Path):  # type: ignore[no-untyped-def]
    return load_kb(kb, case_index=True, legacy=True)


def test_identical_versions_have_no_differences(tmp_path: Path) -> None:
    kb = _load(_copy(tmp_path, "a"))
    result = diff(kb, kb, demo_cases(), AS_OF)
    assert result.empty and result.cases_run == len(demo_cases())
    assert "No differences." in format_diff(result)


def test_added_changed_retired_and_signed_off_rules_and_the_cases_they_change(
    tmp_path: Path,
) -> None:
    old_dir, new_dir = _copy(tmp_path, "old"), _copy(tmp_path, "new")
    (old_dir / "rules" / "dfsp-imatinib.yaml").unlink()  # so it is "added" in the new one
    _edit(new_dir, "lms-second-line", title="Leiomyosarcoma second line (edited)")
    _edit(new_dir, "patient-summary", status="retired")
    signoff = {"role": "sarcoma medical oncologist", "date": "2026-11-30"}
    _edit(new_dir, "asps-pazopanib", status="active", signoff=signoff)
    result = diff(_load(old_dir), _load(new_dir), demo_cases(), AS_OF)
    assert result.added == ["dfsp-imatinib"]
    assert result.retired == ["patient-summary"]
    assert result.changed["lms-second-line"] == ["title"]
    assert "signed off by sarcoma medical oncologist" in result.review_changed["asps-pazopanib"]
    # the retired summary rule fired for demo patients: those cases change outcome
    assert result.outcomes
    before, after = next(iter(result.outcomes.values()))
    assert any(r.startswith("patient-summary") for r in before)
    assert not any(r.startswith("patient-summary") for r in after)
    text = format_diff(result)
    assert "Rules retired (1):" in text and "- patient-summary" in text


def test_a_kb_1_0_rule_file_is_read_as_pending_review_for_comparison(tmp_path: Path) -> None:
    old_dir = _copy(tmp_path, "old")
    path = old_dir / "rules" / "dfsp-imatinib.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["review"]
    data.update(status="active", reviewed_on="2026-11-23", reviewed_by="an old record")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    rule = _load(old_dir).rule("dfsp-imatinib").rule
    assert rule.status == "pending-review" and not rule.clinically_reviewed


def test_bundles_and_requests_in_a_directory_are_clinical_cases(tmp_path: Path) -> None:
    bundle = load_bundle(scenarios()[0].id)
    (tmp_path / "patient.json").write_text(json.dumps(bundle), encoding="utf-8")
    request = {"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "request.json").write_text(json.dumps(request), encoding="utf-8")
    (tmp_path / "notes.json").write_text("[1, 2]", encoding="utf-8")  # neither: skipped
    cases = file_cases(tmp_path)
    assert [(c.name, c.hook) for c in cases] == [
        ("patient.json", "patient-view"),
        ("sub/request.json", "order-sign"),
    ]


def test_cli_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_dir, new_dir = _copy(tmp_path, "old"), _copy(tmp_path, "new")
    _edit(new_dir, "patient-summary", status="retired")
    code = main(["kb", "diff", str(old_dir), str(new_dir), "--as-of", "2026-11-30"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Rules retired (1):" in out and "Clinical cases whose outcome changes:" in out
