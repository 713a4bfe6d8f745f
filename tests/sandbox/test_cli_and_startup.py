"""The command line as the README uses it: ``map`` and ``evaluate`` read the same inputs, a
Bundle's draft orders are the hook's draft orders, every input problem is one line, and a busy
port is said at start-up (``serve``, ``make fhir-demo``) before anything starts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_hooks.cli import main
from tests.peers import free_port

DEMO = Path(__file__).resolve().parents[2] / "cds_hooks" / "demo"
NO_SUBTYPE = DEMO / "sarcoma-no-subtype.json"


def _cards(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["evaluate", *argv, "--as-of", "2026-01-15"]) == 0
    cards: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["cards"]
    return cards


def test_a_bundles_draft_orders_are_the_hooks_draft_orders(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # what the README promises for this demo patient at order-sign
    cards = _cards(capsys, str(NO_SUBTYPE), "--hook", "order-sign")
    assert any("no histologic subtype" in c["summary"] for c in cards)
    assert all(c["indicator"] == "warning" for c in cards)
    # without --hook, a Bundle holding a draft order is evaluated as order-sign, and says so
    assert main(["evaluate", str(NO_SUBTYPE), "--as-of", "2026-01-15"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["cards"] == cards
    assert captured.err.strip() == (
        "evaluate: the Bundle holds 1 draft order: evaluated as order-sign "
        "(--hook chooses another hook)"
    )
    # order-select: every draft of the Bundle is selected
    selected = _cards(capsys, str(NO_SUBTYPE), "--hook", "order-select")
    assert any("no histologic subtype" in c["summary"] for c in selected)


def test_map_and_evaluate_read_the_same_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads((DEMO / "gist-pdgfra-d842v.json").read_text())
    single = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"
    )
    (tmp_path / "condition.json").write_text(json.dumps(single))
    for path in (DEMO / "gist-pdgfra-d842v.json", tmp_path / "condition.json"):
        assert main(["map", str(path)]) == 0
        model = json.loads(capsys.readouterr().out)
        assert model["patient"]["patient_id"] == "demo-gist-d842v"
        assert main(["evaluate", str(path), "--as-of", "2026-01-15"]) == 0
        assert json.loads(capsys.readouterr().out)["cards"]
    # map reads a Bundle's drafts as draft orders too
    assert main(["map", str(NO_SUBTYPE), "--hook", "order-sign"]) == 0
    assert "demo-sarcoma-nos-med-2" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "argv", "line"),
    [
        (b"", [], "is empty: give a CDS Hooks request or a FHIR Bundle (JSON)"),
        (b"   \n", [], "is empty"),
        (b'{"hook": ', [], "is not JSON (line 1, column 10: Expecting value)"),
        (b"hook=patient-view", [], "is not JSON (line 1, column 1: Expecting value)"),
        (b"[1, 2]", [], "holds a JSON list, not an object"),
        (b'{"a": 1}', [], "neither a CDS Hooks request nor a FHIR Bundle or resource"),
        (b'{"hook": "patient-view"}', [], "the CDS Hooks request has no context object"),
        (b"{}", ["--as-of", "2026-13-01"], "--as-of '2026-13-01' is not a date: use YYYY-MM-DD"),
    ],
)
def test_every_input_problem_is_one_clear_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    argv: list[str],
    line: str,
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    commands = ["evaluate"] if argv else ["evaluate", "map"]
    for command in commands:
        assert main([command, str(path), *argv]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        (err,) = captured.err.strip().splitlines()
        assert err.startswith(f"{command}: ") and line in err, err


@pytest.fixture
def taken_port() -> Iterator[int]:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        yield port


def test_serve_says_the_port_is_taken_before_starting(
    taken_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CDS_AUTH_MODE", "off")
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path}/cds.sqlite3")
    started = time.monotonic()
    assert main(["serve", "--dev", "--port", str(taken_port)]) == 2
    assert time.monotonic() - started < 3
    err = capsys.readouterr().err
    assert f"port {taken_port} on 127.0.0.1 is already in use" in err
    assert "serving" not in err and "AUTHENTICATION IS OFF" not in err


def test_a_second_fhir_demo_says_the_port_is_taken_and_reloads_nothing(
    taken_port: int, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cds_hooks.demo.server",
            "--port",
            str(taken_port),
            "--data",
            str(tmp_path / "sekmet"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr
    assert "nothing was started or reloaded" in done.stderr
    assert not (tmp_path / "sekmet").exists()


@pytest.mark.e2e
def test_the_demo_fhir_server_answers_only_once_its_patients_are_loaded(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cds_hooks.demo.server",
            "--port",
            str(port),
            "--data",
            str(tmp_path / "sekmet"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, "the demo server stopped"
            assert time.monotonic() < deadline, "the demo server never answered"
            try:
                first = requests.get(f"{base}/metadata", timeout=2)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            break
        assert first.status_code == 200
        # the first answer of the announced port already finds every demo patient
        from cds_hooks.demo import scenarios

        for item in scenarios():
            found = requests.get(f"{base}/Patient/{item.patient_id}", timeout=10)
            assert found.status_code == 200, item.patient_id
    finally:
        server.terminate()
        server.wait(timeout=30)
    # SIGTERM to the wrapper stops the FHIR server it started: nothing answers on the port
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/metadata", timeout=2)
