"""The KB document shows the exon table and the variant-class table."""

from __future__ import annotations

from cds_hooks.commands.kb_cmd import render_html
from rules import load_kb


def test_kb_document_shows_exon_and_variant_tables() -> None:
    html = render_html(load_kb())
    assert 'id="exon-table"' in html and 'id="variant-classes"' in html
    # KIT exon 9 and 11, PDGFRA exon 18 with their derived c. and codon ranges
    assert "<td>KIT</td><td>9</td><td>c.1347-c.1540</td><td>449-514</td>" in html
    assert "<td>KIT</td><td>11</td><td>c.1648-c.1774</td><td>550-592</td>" in html
    assert "<td>PDGFRA</td><td>18</td><td>c.2440-c.2562</td><td>814-854</td>" in html
    assert "<code>pdgfra-d842v</code>" in html and "resistant" in html
    assert 'href="#src-yoo-2016-pdgfra-imatinib"' in html


def test_kb_document_shows_the_specimen_and_stain_tables() -> None:
    html = render_html(load_kb())
    assert 'id="specimen-table"' in html and 'id="stain-table"' in html
    assert "<td>119361006</td><td>Plasma specimen</td><td>plasma</td>" in html
    assert "<td>119376003</td><td>Tissue specimen</td><td>tissue</td>" in html
    assert "<td>SDHB</td>" in html and "No LOINC or SNOMED CT code for an SDHB" in html
