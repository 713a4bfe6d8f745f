"""``sarcoma-cds kb label-facts``: the list of label facts is generated from the KB data."""

from __future__ import annotations

import pytest

from cds_hooks.cli import main
from cds_hooks.commands.kb_facts import label_facts
from rules import load_kb


def test_every_label_rule_and_regulatory_statement_is_listed_with_its_source() -> None:
    kb = load_kb()
    facts = label_facts(kb)
    listed = {f.rule_id for f in facts}
    for compiled in kb.rules:
        rule = compiled.rule
        if rule.evidence.level in {"regulatory-label", "label-secondary-copy"} or rule.regulatory:
            assert rule.id in listed
    d842v = next(f for f in facts if f.rule_id == "gist-pdgfra-d842v-avapritinib")
    assert d842v.drugs == ("avapritinib",)
    assert (d842v.level, d842v.source_key) == (
        "label-secondary-copy",
        "label-avapritinib-rxreasoner",
    )
    fourth = next(f for f in facts if f.rule_id == "gist-fourth-line-ripretinib")
    assert fourth.source_key == "label-ripretinib-openfda" and "api.fda.gov" in (
        fourth.source_url or ""
    )


def test_the_command_prints_one_line_per_fact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "label-facts"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "drug | fact | evidence | main source | rule"
    assert len(out) - 1 == len(label_facts(load_kb()))
    assert any(line.startswith("sunitinib |") and "label-sunitinib-pfizer" in line for line in out)
