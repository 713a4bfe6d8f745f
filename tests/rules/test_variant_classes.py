"""The variant-class table: loads, is cited, and is the only ground for GIST contraindications."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rules import load_kb
from rules.loader import KnowledgeBaseError, default_kb_path
from rules.patient import Biomarker, BiomarkerKind, Code, Gene, ResultValue
from rules.variant_classes import classes_of, variant_classes
from tests.rules.sarcoma_case_factory import CASES_DIR

KB = load_kb()


def _marker(gene: str, exon: int | None = None, hgvs_p: str | None = None) -> Biomarker:
    return Biomarker(
        gene=Gene(gene),
        kind=BiomarkerKind.VARIANT,
        result=ResultValue.PRESENT,
        source_ref="Observation/x",
        code=Code("http://loinc.org", "69548-6"),
        exon=exon,
        hgvs_p=hgvs_p,
    )


@pytest.mark.parametrize(
    ("gene", "exon", "hgvs_p", "expected"),
    [
        ("PDGFRA", 18, "p.Asp842Val", {"pdgfra-d842v"}),
        ("PDGFRA", None, "p.D842V", {"pdgfra-d842v"}),
        ("PDGFRA", 18, "p.Ile843_Asp846del", {"pdgfra-imatinib-sensitive"}),
        ("PDGFRA", 18, "p.Asp842_His845del", {"pdgfra-imatinib-sensitive"}),
        ("PDGFRA", 12, "p.Val561Asp", {"pdgfra-imatinib-sensitive"}),
        ("PDGFRA", 14, "p.Asn659Lys", {"pdgfra-imatinib-sensitive"}),
        ("PDGFRA", 18, None, {"pdgfra-imatinib-sensitive"}),
        ("KIT", 9, "p.Ala502_Tyr503dup", {"kit-exon9"}),
        ("KIT", 11, "p.Trp557_Lys558del", {"kit-exon11"}),
        ("KIT", 13, "p.Val654Ala", {"kit-secondary-atp-pocket"}),
        ("KIT", 17, "p.Asn822Lys", {"kit-secondary-activation-loop"}),
        ("KIT", 18, "p.Ala829Pro", {"kit-secondary-activation-loop"}),
        ("PDGFRA", 11, None, set()),
    ],
)
def test_classes_of_a_finding(gene: str, exon: int | None, hgvs_p: str | None, expected: set[str]):
    assert set(classes_of(_marker(gene, exon, hgvs_p))) == expected


def test_only_d842v_is_resistant_to_imatinib() -> None:
    resistant = {
        c.id
        for c in variant_classes().classes
        if c.drugs.get("imatinib") is not None and c.drugs["imatinib"].effect == "resistant"
    }
    assert resistant == {"pdgfra-d842v"}


def test_every_gist_contraindication_rests_on_a_resistant_variant_class() -> None:
    """A card may contraindicate a drug only for a class the table calls resistant to it."""
    table = variant_classes()
    for compiled in KB.rules:
        rule = compiled.rule
        if rule.histology != "gist" or not rule.then.contraindicated_drugs:
            continue
        classes = [
            cls
            for c in compiled.when
            if c.name == "variant_class" and c.params is not None
            for cls in c.params.model_dump()["classes"]
        ]
        assert classes, f"{rule.id}: contraindication without a variant class"
        for group in rule.then.contraindicated_drugs:
            for member in KB.valuesets.drug_members(group):
                drug = member.removeprefix("drug-")
                assert all(
                    table.get(cls).drugs.get(drug) is not None
                    and table.get(cls).drugs[drug].effect == "resistant"
                    for cls in classes
                ), f"{rule.id}: {drug} is not listed as resistant for {classes}"


def test_an_exon_alone_never_gates_a_gist_contraindication() -> None:
    for compiled in KB.rules:
        if compiled.rule.then.contraindicated_drugs:
            assert not any(
                c.name == "biomarker" and c.params is not None and c.params.model_dump()["exons"]
                for c in compiled.when
            ), compiled.rule.id


def _kb_copy(tmp_path: Path) -> Path:
    kb_dir = tmp_path / "kb"
    shutil.copytree(default_kb_path(), kb_dir)
    return kb_dir


def test_an_unknown_citation_in_the_table_fails_the_kb_load(tmp_path: Path) -> None:
    kb_dir = _kb_copy(tmp_path)
    path = kb_dir / "variant_classes.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["classes"][0]["drugs"]["imatinib"]["citations"] = ["no-such-source"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="unknown citation no-such-source"):
        load_kb(kb_dir, CASES_DIR)


def test_a_rule_naming_an_unknown_class_fails_the_kb_load(tmp_path: Path) -> None:
    kb_dir = _kb_copy(tmp_path)
    path = kb_dir / "rules" / "gist-pdgfra-d842v-avapritinib.yaml"
    text = path.read_text(encoding="utf-8").replace("classes: [pdgfra-d842v]", "classes: [nope]")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="unknown variant class"):
        load_kb(kb_dir, CASES_DIR)


def test_classes_of_equals_matching_each_class_afresh() -> None:
    """classes_of reads a finding's gene and names once and decides each ``except`` class once:
    the same classes as asking the reference matcher about every class of the table."""
    import itertools

    from rules.variant_classes import _matches

    table = variant_classes()
    hotspots = sorted({h for c in table.classes for h in c.match.hotspots})
    exons = sorted({e for c in table.classes for e in c.match.exons})
    genes = [*sorted({c.gene for c in table.classes}), "kit", "BRAF"]
    hgvs = [None, "p.Asp842Val", "p.(Asp816Val)", "p.V654A", "NP_000213.1:p.(Asn822Lys)", "x"]
    fired = 0
    for gene, hotspot, exon, hgvs_p in itertools.product(
        genes, [*hotspots, "d842v", None], [*exons, None, 99], hgvs
    ):
        marker = Biomarker(
            gene=Gene(gene),
            kind=BiomarkerKind.VARIANT,
            result=ResultValue.PRESENT,
            source_ref="Observation/x",
            code=Code("http://loinc.org", "69548-6"),
            exon=exon,
            hotspot=hotspot,
            hgvs_p=hgvs_p,
        )
        expected = tuple(c.id for c in table.classes if _matches(c, marker, table))
        assert classes_of(marker) == expected, marker
        fired += bool(expected)
    assert fired > 100
