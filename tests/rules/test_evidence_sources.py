"""Evidence labels are honest: a card that says "Regulatory label" has a regulator's text (or the
manufacturer's publication of it) as its main source, never a third-party copy, a staging site or
an unidentified mirror; a card resting on the seed guideline summary alone says so."""

from __future__ import annotations

from datetime import date

from rules import evaluate, load_kb
from rules.engine import SUMMARY_ONLY_NOTE
from tests.rules.sarcoma_case_factory import build_patient

KB = load_kb()
COPY_HOSTS = (
    "uat.", "stg.", "old-prod.", "mimsdev", "laoslucius", "rxreasoner", "medicinenet",
    "medscape", "drugs.com", "prescriberpoint", "fda.report", "ascopost", "voice.ons.org",
)  # fmt: skip


def test_a_regulatory_label_level_has_a_regulatory_main_source() -> None:
    wrong = [
        (c.rule.id, c.rule.citations[0])
        for c in KB.rules
        if c.rule.evidence.level == "regulatory-label"
        and KB.sources[c.rule.citations[0]].kind != "regulatory-label"
    ]
    assert wrong == []


def test_no_regulatory_label_source_is_a_copy_or_staging_site() -> None:
    suspicious = [
        (key, source.url)
        for key, source in KB.sources.items()
        if source.kind == "regulatory-label"
        and (
            any(host in (source.url or "") for host in COPY_HOSTS)
            or any(word in source.publisher.lower() for word in ("reprint", "copy", "mirror"))
        )
    ]
    assert suspicious == []


def test_the_d842v_avapritinib_card_says_its_label_was_read_in_a_secondary_copy() -> None:
    patient = build_patient(
        {
            "diagnoses": [{"histology": "gist"}],
            "biomarkers": [{"gene": "PDGFRA", "exon": 18, "hotspot": "D842V"}],
            "extent": [{"extent": "metastatic", "source": "secondary-condition"}],
        }
    )
    recs = evaluate(patient, KB, date(2026, 1, 15), "patient-view")
    (rec,) = [r for r in recs if r.rule_id == "gist-pdgfra-d842v-avapritinib"]
    assert rec.evidence_level == "label-secondary-copy"
    assert "secondary copy" in rec.evidence_label
    assert any(c.publisher.startswith("US Food and Drug Administration") for c in rec.citations)


def test_a_rule_resting_on_the_seed_summary_alone_says_so_on_the_card() -> None:
    seed_only = {
        c.rule.id
        for c in KB.rules
        if all(KB.sources[k].kind == "guideline-summary" for k in c.rule.citations)
    }
    assert "gist-imatinib-progression-escalate" in seed_only
    patient = build_patient(
        {
            "diagnoses": [{"histology": "gist"}],
            "therapy": [{"drug": "imatinib", "start": "2023-03-01", "mg": 400}],
            "status": [{"value": "progression", "date": "2025-11-20"}],
        }
    )
    recs = evaluate(patient, KB, date(2026, 1, 15), "patient-view")
    for rec in recs:
        says = (rec.evidence_note or "").startswith(SUMMARY_ONLY_NOTE)
        assert says == (rec.rule_id in seed_only), rec.rule_id
    assert any(r.rule_id in seed_only for r in recs)
