from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cds_hooks.commands.map_cmd import register

FIXTURE = Path(__file__).parents[1] / "fixtures" / "fhir" / "gist-journey-order-select.json"


def test_map_command_prints_model_and_issues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = json.loads(FIXTURE.read_text(encoding="utf-8"))["document"]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["map", str(path)])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["derived"]["primary_histology"] == "gist"
    assert out["derived"]["current_line"] == 2
    assert {i["kind"] for i in out["issues"]} >= {"text-derived-finding"}


def test_map_command_rejects_unreadable_file(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["map", str(tmp_path / "missing.json")])
    assert args.func(args) == 2
