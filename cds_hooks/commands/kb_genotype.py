"""The genotype tables of the KB document: the exon table of the GIST reference transcripts
(derived from exon coordinates, see ``fhir_mapping/data/exons.yaml``) and the variant classes
with what each means for each drug (``rules/kb/variant_classes.yaml``)."""

from __future__ import annotations

from html import escape

from fhir_mapping import ihc, specimens
from fhir_mapping.exons import exon_table
from rules import KnowledgeBase
from rules.variant_classes import variant_classes

#: Exons shown per gene: those GIST genotyping and the variant classes talk about.
SHOWN_EXONS = {"KIT": (8, 9, 11, 13, 14, 17, 18), "PDGFRA": (12, 14, 18)}


def _cite(kb: KnowledgeBase, keys: list[str]) -> str:
    return ", ".join(
        f'<a href="#src-{escape(k)}">{escape(kb.sources[k].title if k in kb.sources else k)}</a>'
        for k in keys
    )


def exon_table_html() -> str:
    rows = []
    for gene, table in sorted(exon_table().items()):
        for exon in table.exons:
            if exon.number not in SHOWN_EXONS.get(gene, ()):
                continue
            codons = table.codons(exon)
            span = f"{codons[0]}-{codons[1]}" if codons else "non-coding"
            g37, g38 = exon.genomic["grch37"], exon.genomic["grch38"]
            rows.append(
                f"<tr><td>{escape(gene)}</td><td>{exon.number}</td>"
                f"<td>c.{exon.c_first}-c.{exon.c_last}</td><td>{span}</td>"
                f"<td>{g37[0]}-{g37[1]}</td><td>{g38[0]}-{g38[1]}</td></tr>"
            )
    return (
        '<h3 id="exon-table">Exon table (KIT NM_000222 / ENST00000288135, PDGFRA NM_006206 / '
        "ENST00000257290)</h3><p class=meta>Exon coordinates: GENCODE V24 canonical "
        "transcripts as shipped with SpliceAI 1.3.1; c. and codon ranges derived from them with "
        "published anchors (CIViC D816V and D842V for GRCh37, Ensembl and RefSeq positions for "
        "GRCh38; both builds must agree).</p><table><tr><th>gene</th><th>exon</th>"
        "<th>c. range</th><th>codons</th><th>GRCh37 (chr4)</th><th>GRCh38 (chr4)</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def variant_table_html(kb: KnowledgeBase) -> str:
    table = variant_classes()
    rows = []
    for item in table.classes:
        match = []
        if item.match.hotspots:
            match.append(", ".join(item.match.hotspots))
        if item.match.exons:
            match.append("exon " + ", ".join(map(str, item.match.exons)))
        if item.match.except_:
            match.append("except " + ", ".join(item.match.except_))
        for drug, meaning in item.drugs.items():
            note = f" {escape(meaning.note)}" if meaning.note else ""
            rows.append(
                f"<tr><td><code>{escape(item.id)}</code><br>{escape(item.label)}</td>"
                f"<td>{escape(item.role)}</td><td>{escape('; '.join(match))}</td>"
                f"<td>{escape(drug)}</td><td>{escape(meaning.effect)}{note}</td>"
                f"<td>{_cite(kb, meaning.citations)}</td></tr>"
            )
    regions = "; ".join(
        f"{gene} exons {', '.join(map(str, exons))}"
        for gene, exons in table.gist_genotyping.regions.items()
    )
    return (
        '<h3 id="variant-classes">Variant classes</h3><p class=meta>Cards state resistance or '
        "a contraindication only for a drug a class lists as resistant; an exon alone never "
        f"contraindicates a drug. Wild-type requires negative results covering {escape(regions)} "
        f"({_cite(kb, table.gist_genotyping.citations)}).</p><table><tr><th>class</th>"
        "<th>role</th><th>matches</th><th>drug</th><th>meaning</th><th>sources</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def specimen_table_html() -> str:
    rows = "".join(
        f"<tr><td>{escape(str(r['system']))}</td><td>{escape(str(r['code']))}</td>"
        f"<td>{escape(str(r['display']))}</td><td>{escape(str(r['kind']))}</td>"
        f"<td>{escape(str(r['source']))}</td></tr>"
        for r in specimens.table_rows()
    )
    texts = "; ".join(
        f"{kind}: {', '.join(patterns)}" for kind, patterns in specimens.text_patterns().items()
    )
    return (
        '<h3 id="specimen-table">Specimen types (secondary mutations)</h3><p class=meta>A KIT '
        "exon 13/14/17/18 variant first seen after progression on a kinase inhibitor, or in "
        "plasma (ctDNA) after one was started, is a secondary mutation; cards name the "
        "specimen. Coded specimen types:</p><table><tr><th>system</th><th>code</th>"
        "<th>display</th><th>kind</th><th>source</th></tr>"
        + rows
        + f"</table><p class=meta>Otherwise read from text (patterns): {escape(texts)}.</p>"
    )


def stain_table_html() -> str:
    rows = "".join(
        f"<tr><td>{escape(str(r['gene']))}</td><td>{escape(' | '.join(r['name']))}</td>"
        f"<td>{escape(' | '.join(r['method']))}</td><td>{escape(' | '.join(r['loss']))}</td>"
        f"<td>{escape(' | '.join(r['retained']))}</td></tr>"
        for r in ihc.table_rows()
    )
    return (
        '<h3 id="stain-table">Immunohistochemistry read by text</h3><p class=meta>No LOINC or '
        "SNOMED CT code for an SDHB immunostain could be verified, so the stain is read from "
        "the Observation's name, method and value text (clauses about the internal control "
        "ignored); the finding is marked as read from text. SDHB loss feeds the SDH-deficient "
        "card.</p><table><tr><th>marker</th><th>name</th><th>method</th><th>loss</th>"
        "<th>retained</th></tr>" + rows + "</table>"
    )


def genotype_tables_html(kb: KnowledgeBase) -> str:
    return (
        '<h2 id="genotype">GIST genotype tables</h2>'
        + exon_table_html()
        + variant_table_html(kb)
        + specimen_table_html()
        + stain_table_html()
    )
