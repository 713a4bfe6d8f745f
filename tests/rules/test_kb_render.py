"""The clinician-readable KB document and the ``evaluate`` command built on the KB."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from xml.etree import ElementTree

import pytest

from cds_hooks.cli import main
from cds_hooks.commands.inputs import InputError, as_call
from cds_hooks.commands.kb_cmd import render_html, review_text
from rules import load_kb

KB = load_kb()


def test_kb_document_lists_every_rule_with_version_evidence_and_review_date() -> None:
    html = render_html(KB)
    for compiled in KB.rules:
        rule = compiled.rule
        assert f'id="{rule.id}"' in html
        assert f"{rule.id}@{rule.version}" in html
        assert escape(review_text(rule)) in html
        if rule.signoff is None:
            assert "not yet clinically reviewed" in review_text(rule)
    assert "Meta-analysis of non-randomised studies" in html
    assert "doi:10.3389/fonc.2025.1703261" in html


def test_kb_document_draws_the_gist_sequence_and_needs_no_external_assets() -> None:
    html = render_html(KB)
    gist = html.split('id="h-gist"')[1].split("<h2")[0]
    svg = gist.split("<svg")[1].split("</svg>")[0]
    for label in ("First line", "Line 2", "Line 3", "Line 4"):
        assert label in svg
    for drug in ("imatinib", "sunitinib", "regorafenib", "ripretinib", "avapritinib"):
        assert drug in svg
    assert not re.search(r"<(script|link|img)\b", html)
    assert "src=" not in html


def _gist_boxes() -> list[tuple[str, list[str]]]:
    """The GIST sequence diagram as (box heading, box rows), left to right."""
    html = render_html(KB)
    gist = html.split('id="h-gist"')[1].split("<h2")[0]
    svg = ElementTree.fromstring("<svg" + gist.split("<svg")[1].split("</svg>")[0] + "</svg>")
    ns = "{http://www.w3.org/2000/svg}"
    lefts = sorted(float(r.attrib["x"]) for r in svg.iter(f"{ns}rect"))
    boxes: list[tuple[list[str], list[str]]] = [([], []) for _ in lefts]
    for text in svg.iter(f"{ns}text"):
        x = float(text.attrib["x"])
        index = max(i for i, left in enumerate(lefts) if left <= x)
        bold = text.attrib.get("font-weight") == "bold"
        boxes[index][0 if bold else 1].append(text.text or "")
    return [(" ".join(heading), rows) for heading, rows in boxes]


def test_imatinib_escalation_sits_after_first_line_progression_not_in_the_first_line_box() -> None:
    boxes = _gist_boxes()
    headings = [heading for heading, _ in boxes]
    escalation = [
        index
        for index, (_, rows) in enumerate(boxes)
        if any("Progression on imatinib 400 mg" in row for row in rows)
    ]
    assert len(escalation) == 1
    first, second = headings.index("First line"), headings.index("Line 2")
    assert first < escalation[0] < second
    assert headings[escalation[0]] == "After progression on first line"
    assert not any("Progression on imatinib" in row for row in boxes[first][1])
    # first-line therapy itself stays in the first-line box
    assert any("GIST first line" in row for row in boxes[first][1])


def test_kb_render_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "kb.html"
    assert main(["kb", "render", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p9"}},
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c9",
                "subject": {"reference": "Patient/p9"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/icd-o-3",
                            "code": "8936/3",
                        }
                    ]
                },
            }
        },
    ],
}


def test_a_bundle_without_draft_orders_is_read_as_patient_view() -> None:
    call = as_call(BUNDLE, None)
    assert (call.hook, call.context["patientId"]) == ("patient-view", "p9")
    assert call.prefetch["bundle"]["entry"] == BUNDLE["entry"]
    assert call.hook_instance


def test_documents_that_are_neither_requests_nor_fhir_are_refused() -> None:
    with pytest.raises(InputError, match="neither"):
        as_call({"patient": "p9"}, None)


def test_evaluate_prints_cards_for_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(BUNDLE), encoding="utf-8")
    assert main(["evaluate", str(path), "--as-of", "2026-01-15"]) == 0
    cards = json.loads(capsys.readouterr().out)["cards"]
    summaries = [c["summary"] for c in cards]
    assert any("KIT/PDGFRA" in s for s in summaries), summaries
    gap = next(c for c in cards if "KIT/PDGFRA" in c["summary"])
    resource = gap["suggestions"][0]["actions"][0]["resource"]
    assert resource["subject"] == {"reference": "Patient/p9"}


def test_kb_document_shows_the_special_population_tables_with_their_sources() -> None:
    html = render_html(KB)
    section = html.split('id="populations"')[1].split('<h2 id="sources"')[0]
    assert "200 mg once daily" in section  # pazopanib, moderate hepatic impairment
    assert "CrCl 20-39 mL/min" in section  # imatinib
    assert "Child-Pugh class (asked for, never derived)" in section
    assert "can cause fetal harm" in section
    assert 'href="#src-label-crizotinib-pfizer-ca-dosage"' in section
    for key in ("label-votrient-dailymed-copy", "label-imatinib-us-copy"):
        assert f'id="src-{key}"' in html
