"""What a clinician reads: every card and page the demo patients, the Sandbox's own request
bodies and the knowledge-base cases produce is short and free of broken wording."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_hooks.card_text import MAX_DETAIL, MAX_LINES
from cds_hooks.cards import render
from cds_hooks.demo import load_bundle, prefetch_for, scenarios
from cds_hooks.timeline.model import build_timeline
from cds_hooks.timeline.render import render_page
from rules import evaluate, load_kb
from rules.engine import UNKNOWN_EXTENT_NOTE
from tests.contract.wording import card_wording_problems, wording_problems
from tests.rules.sarcoma_case_factory import load_all_cases
from tests.sandbox.conftest import AS_OF
from tests.sandbox.test_demo_scenarios import _call

KB = load_kb()
SANDBOX = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox"
SERVICE = {
    "patient-view": "sarcoma-patient-view",
    "order-select": "sarcoma-order-select",
    "order-sign": "sarcoma-order-sign",
}


def _post(client: FlaskClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE[body['hook']]}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def _shape_problems(card: dict[str, Any]) -> list[str]:
    problems = []
    if len(card["summary"]) > 140:
        problems.append(f"summary of {len(card['summary'])} characters")
    detail = card.get("detail", "")
    if len(detail) > MAX_DETAIL:
        problems.append(f"detail of {len(detail)} characters")
    if len(detail.splitlines()) > MAX_LINES:
        problems.append(f"detail of {len(detail.splitlines())} lines")
    return [f"{card['summary'][:50]!r}: {p}" for p in problems]


# -- the checker itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Diagnosis on record: sarcoma nos (Sarcoma of soft tissue)",
        "Diagnosis: gist, KIT exon 11",
        "Line 1: doxorubicin, stopped for completed",
        "1 line(s) of systemic therapy",
        "Leiomyosarcoma (1 rules)",
        "Blay JY et al.. Nature Reviews Disease Primers",
        "Not approved (European Medicines Agency (EMA));",
        "Gastrointestinal stromal tumour (Gastrointestinal stromal tumor)",
        "Leiomyosarcoma (Leiomyosarcoma, NOS)",
        "EWSR1/WT1 fusion detected",
        "Diagnosis: alveolar-soft-part-sarcoma",
        "Dose: None",
    ],
)
def test_the_checker_catches_each_broken_pattern_of_the_issue(text: str) -> None:
    assert wording_problems(text), text


def test_the_checker_passes_clean_clinical_wording() -> None:
    clean = (
        "- **Why:** Diagnosis: Leiomyosarcoma (`Condition/demo-lms-cond-1`); 1 line of systemic "
        "therapy: doxorubicin, stopped for toxicity; EWSR1::WT1 fusion: detected\n"
        "- **Evidence:** Society guideline. Main source: *Gastrointestinal stromal tumours* "
        "(Nature Reviews Disease Primers, 2021). KIT/PDGFRA wild-type GIST (SDH-deficient)."
    )
    assert wording_problems(clean) == []


# -- the demo patients and the Sandbox's bodies ------------------------------------------------


@pytest.mark.parametrize("sid", [s.id for s in scenarios()])
def test_demo_cards_are_short_and_cleanly_worded(client: FlaskClient, sid: str) -> None:
    scenario = next(s for s in scenarios() if s.id == sid)
    prefetch, context = _call(sid)
    body = {
        "hookInstance": str(uuid.uuid4()),
        "hook": scenario.hook,
        "context": context,
        "prefetch": prefetch,
    }
    bodies = [body]
    if scenario.hook != "patient-view":  # the same patient's chart, opened
        pv_context = {k: context[k] for k in ("patientId", "userId")}
        bodies.append({**body, "hook": "patient-view", "context": pv_context})
    problems = []
    for sent in bodies:
        cards = _post(client, sent)
        assert cards
        for card in cards:
            problems += _shape_problems(card) + card_wording_problems(card, sid)
    assert problems == []


@pytest.mark.parametrize("name", sorted(p.name for p in SANDBOX.glob("*--*-*.json")))
def test_cards_for_the_sandbox_bodies_are_short_and_cleanly_worded(
    client: FlaskClient, name: str
) -> None:
    if name.endswith("--feedback.json"):
        pytest.skip("a feedback body, not a hook call")
    body = json.loads((SANDBOX / name).read_text())
    body.pop("fhirServer", None)
    problems = []
    for card in _post(client, body):
        problems += _shape_problems(card) + card_wording_problems(card, name)
    assert problems == []


@pytest.mark.parametrize("sid", [s.id for s in scenarios()])
def test_timeline_pages_are_cleanly_worded(sid: str) -> None:
    scenario = next(s for s in scenarios() if s.id == sid)
    timeline = build_timeline(prefetch_for(load_bundle(sid)), scenario.patient_id, KB, AS_OF)
    assert wording_problems(render_page(timeline), where=sid, is_html=True) == []


# -- every firing case of the knowledge base ---------------------------------------------------


def test_cards_of_every_firing_kb_case_are_short_and_cleanly_worded() -> None:
    problems = []
    cases = [c for c in load_all_cases() if c.expect != "silent"]
    assert len(cases) > 50
    for case in cases:
        recs = evaluate(case.patient, KB, case.as_of, case.hook)
        cards = render(
            recs,
            hook=case.hook,
            hook_instance="wording",
            patient_id="p1",
            draft_orders={},
            kb_version=KB.version,
            timeline_url="https://cds.example.org/app/timeline/launch",
        )
        hedged = {r.rule_id for r in recs if r.what.endswith(UNKNOWN_EXTENT_NOTE)}
        for card in cards:
            wire = card.to_wire()
            problems += _shape_problems(wire) + card_wording_problems(wire, case.id)
            # a shortened card never loses the unknown-extent hedge
            mine = any(f"`{rule}@" in wire["detail"] for rule in hedged)
            if mine and UNKNOWN_EXTENT_NOTE not in wire["detail"]:
                problems.append(f"{case.id}: hedge lost")
    assert problems == []


def test_the_kb_document_is_cleanly_worded_in_clinical_words() -> None:
    from cds_hooks.commands.kb_cmd import render_html

    document = render_html(KB)
    assert wording_problems(document, where="kb render", is_html=True) == []
    # criteria in clinical words, not predicate calls
    assert "Diagnosis: Gastrointestinal stromal tumour (GIST)" in document
    assert "histology(" not in document and "exposure(" not in document
    # every rule states its review state
    assert document.count("not yet clinically reviewed") >= len(
        [c for c in KB.rules if c.rule.signoff is None]
    )
    # diagrams scale to the page instead of being cut at a fixed width
    assert 'aria-label="Line-of-therapy sequence"' in document
    assert "max-width:" in document and "…" not in document.split("<svg", 1)[1].split("</svg>")[0]
