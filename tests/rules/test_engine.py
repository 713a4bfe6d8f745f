"""Engine behaviour: determinism, hook scoping, ordering, jurisdiction switch, safety filter."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from rules import evaluate, load_kb
from rules.loader import default_kb_path
from rules.predicates import PREDICATES, protein_short
from tests.rules.sarcoma_case_factory import CASES_DIR, build_patient

KB = load_kb()
AS_OF = date(2026, 1, 15)

D842V_WITH_DRAFTS = build_patient(
    {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [{"gene": "PDGFRA", "exon": 18, "hotspot": "D842V"}],
        "drafts": [
            {"drug": "imatinib", "mg": 400, "id": "mr-1"},
            {"drug": "sunitinib", "mg": 50, "id": "mr-2", "selected": False},
        ],
    }
)


def _kb_with(tmp_path: Path, meta_changes: dict[str, object]) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(default_kb_path(), target)
    meta = yaml.safe_load((target / "meta.yaml").read_text(encoding="utf-8"))
    meta.update(meta_changes)
    (target / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    return target


def test_evaluation_is_deterministic() -> None:
    first = evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "order-sign")
    second = evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "order-sign")
    assert first == second


def test_order_sign_reports_every_drafted_order_and_critical_first() -> None:
    recs = evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "order-sign")
    assert recs[0].indicator == "critical"
    assert recs[0].rule_id == "gist-pdgfra-d842v-draft-tki"
    assert set(recs[0].order_ids) == {"mr-1", "mr-2"}
    severities = [{"critical": 0, "warning": 1, "info": 2}[r.indicator] for r in recs]
    assert severities == sorted(severities)


def test_order_select_only_reports_the_selected_order() -> None:
    recs = evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "order-select")
    d842v = next(r for r in recs if r.rule_id == "gist-pdgfra-d842v-draft-tki")
    assert d842v.order_ids == ("mr-1",)
    assert [a.target_order_id for a in d842v.actions] == ["mr-1"]


def test_order_hooks_return_only_recommendations_about_orders() -> None:
    patient = build_patient({"diagnoses": [{"histology": "gist"}], "drafts": []})
    assert evaluate(patient, KB, AS_OF, "order-sign") == []


def test_unknown_hook_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported hook"):
        evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "encounter-start")


def test_every_finding_of_a_draft_carries_its_order_id() -> None:
    recs = evaluate(D842V_WITH_DRAFTS, KB, AS_OF, "order-sign")
    drafts = [f for r in recs for f in r.findings if f.text.startswith("Draft order")]
    assert drafts and all(f.order_id for f in drafts)


ANLOTINIB_PATIENT = build_patient(
    {
        "diagnoses": [{"histology": "synovial-sarcoma"}],
        "therapy": [
            {
                "drug": "ifosfamide",
                "start": "2024-01-01",
                "end": "2024-06-01",
                "stop": "progression",
            }
        ],
    }
)


def test_jurisdiction_switch_annotates_unapproved_drug_by_default() -> None:
    rec = next(
        r
        for r in evaluate(ANLOTINIB_PATIENT, KB, AS_OF, "patient-view")
        if r.rule_id == "anlotinib-second-line-sts"
    )
    assert rec.regulatory[0].jurisdiction == "US"
    assert rec.regulatory[0].applies_here and rec.regulatory[0].status == "not-approved"
    assert any(s.jurisdiction == "CN" and s.status == "approved" for s in rec.regulatory)


def test_jurisdiction_switch_can_suppress_unapproved_drugs(tmp_path: Path) -> None:
    kb = load_kb(_kb_with(tmp_path, {"unapproved_drug_presentation": "suppress"}), CASES_DIR)
    ids = {r.rule_id for r in evaluate(ANLOTINIB_PATIENT, kb, AS_OF, "patient-view")}
    assert "anlotinib-second-line-sts" not in ids
    assert "patient-summary" in ids


def test_jurisdiction_cn_shows_the_chinese_approval_first(tmp_path: Path) -> None:
    kb = load_kb(
        _kb_with(tmp_path, {"jurisdiction": "CN", "unapproved_drug_presentation": "suppress"}),
        CASES_DIR,
    )
    rec = next(
        r
        for r in evaluate(ANLOTINIB_PATIENT, kb, AS_OF, "patient-view")
        if r.rule_id == "anlotinib-second-line-sts"
    )
    assert rec.regulatory[0].jurisdiction == "CN" and rec.regulatory[0].applies_here


def test_safety_filter_drops_options_that_another_rule_marks_resisted(tmp_path: Path) -> None:
    """With the first-line rule's genotype exclusions removed, the engine still never
    recommends imatinib to a PDGFRA D842V GIST (the avapritinib rule marks it resisted)."""
    kb_dir = tmp_path / "kb"
    shutil.copytree(default_kb_path(), kb_dir)
    path = kb_dir / "rules" / "gist-first-line-imatinib.yaml"
    rule = yaml.safe_load(path.read_text(encoding="utf-8"))
    rule["unless"] = [u for u in rule["unless"] if "variant_class" not in u]
    path.write_text(yaml.safe_dump(rule, sort_keys=False), encoding="utf-8")
    kb = load_kb(kb_dir, CASES_DIR)
    d842v = build_patient(
        {
            "diagnoses": [{"histology": "gist"}],
            "biomarkers": [{"gene": "PDGFRA", "exon": 18, "hgvs_p": "p.Asp842Val"}],
        }
    )
    ids = {r.rule_id for r in evaluate(d842v, kb, AS_OF, "patient-view")}
    assert "gist-pdgfra-d842v-avapritinib" in ids
    assert "gist-first-line-imatinib" not in ids


def test_as_of_is_respected_for_disease_status() -> None:
    patient = build_patient(
        {
            "diagnoses": [{"histology": "gist"}],
            "therapy": [{"drug": "imatinib", "start": "2023-03-01", "mg": 400}],
            "status": [{"value": "progression", "date": "2025-11-20"}],
        }
    )
    before = {r.rule_id for r in evaluate(patient, KB, date(2025, 6, 1), "patient-view")}
    after = {r.rule_id for r in evaluate(patient, KB, date(2025, 12, 1), "patient-view")}
    assert "gist-imatinib-progression-escalate" not in before
    assert "gist-imatinib-progression-escalate" in after


@pytest.mark.parametrize(
    ("hgvs", "short"),
    [("p.Asp842Val", "D842V"), ("NP_006197.1:p.(Asp842Val)", "D842V"), ("p.Xyz1Abc", None)],
)
def test_protein_change_is_shortened_for_hotspot_matching(hgvs: str, short: str | None) -> None:
    assert protein_short(hgvs) == short


def test_every_predicate_is_documented() -> None:
    assert all(spec.doc and spec.doc != spec.name for spec in PREDICATES.values())
