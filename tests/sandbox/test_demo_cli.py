"""``sarcoma-cds demo list|load`` against a real FHIR server (sekmet-fhir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response

from cds_hooks.cli import main
from cds_hooks.demo import scenarios
from tests.peers import free_port, sekmet_server
from tests.sandbox.conftest import serve


def test_demo_list_names_every_scenario(capsys: Any) -> None:
    assert main(["demo", "list"]) == 0
    out = capsys.readouterr().out
    for scenario in scenarios():
        assert scenario.id in out and scenario.patient_id in out and scenario.expectation in out


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sekmet_server(tmp_path_factory.mktemp("sekmet")) as base:
        yield base


@pytest.mark.e2e
def test_demo_load_is_idempotent_and_searchable(fhir: str, capsys: Any) -> None:
    assert main(["demo", "load", "--fhir-server", fhir]) == 0
    first = capsys.readouterr().out
    assert f"loaded {len(scenarios())} demo patients" in first
    assert " 0 updated" in first
    assert main(["demo", "load", "--fhir-server", fhir + "/"]) == 0
    second = capsys.readouterr().out
    assert " 0 created" in second

    patient = requests.get(f"{fhir}/Patient/demo-gist-progressed", timeout=10).json()
    assert patient["name"][0]["family"] == "Demo"
    meds = requests.get(
        f"{fhir}/MedicationRequest", params={"patient": "demo-gist-progressed"}, timeout=10
    ).json()
    assert meds["total"] == 1  # PUT twice, still one
    status = requests.get(
        f"{fhir}/Observation",
        params={"patient": "demo-gist-progressed", "code": "http://loinc.org|97509-4"},
        timeout=10,
    ).json()
    assert status["total"] == 3


@pytest.mark.e2e
def test_demo_load_one_scenario(fhir: str, capsys: Any) -> None:
    assert main(["demo", "load", "--fhir-server", fhir, "asps"]) == 0
    out = capsys.readouterr().out
    assert "asps" in out and "loaded 1 demo patient into" in out


def test_unknown_scenario_and_bad_url_exit_2(capsys: Any) -> None:
    assert main(["demo", "load", "--fhir-server", "http://127.0.0.1:1/fhir", "nope"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert main(["demo", "load", "--fhir-server", "ftp://x/fhir"]) == 2
    assert main(["demo", "load", "--fhir-server", f"http://127.0.0.1:{free_port()}/fhir"]) == 2
    assert "unreachable" in capsys.readouterr().err


def test_a_refused_resource_is_named_with_its_status(capsys: Any) -> None:
    refusing = Flask("refusing")

    @refusing.get("/fhir/metadata")
    def metadata() -> Any:
        return {"resourceType": "CapabilityStatement", "status": "active"}

    @refusing.put("/fhir/<kind>/<rid>")
    def put(kind: str, rid: str) -> Response:
        if kind == "Observation":
            return Response(
                '{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
                '"code":"processing","diagnostics":"Observation.code is not allowed here"}]}',
                status=422,
                mimetype="application/fhir+json",
            )
        return Response("{}", status=201, mimetype="application/fhir+json")

    port = free_port()
    with serve(refusing, port) as base:
        code = main(["demo", "load", "--fhir-server", f"{base}/fhir", "gist-kit-exon11-first-line"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Observation/demo-gist-exon11-lab-2" in err
    assert "HTTP 422" in err
    assert "Observation.code is not allowed here" in err


def _unused(path: Path) -> None:
    return None
