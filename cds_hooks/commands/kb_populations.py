"""The special-population tables of the KB document: labelled embryo-fetal toxicity and the
labelled dose changes in hepatic and renal impairment (``rules/kb/tables``), with sources."""

from __future__ import annotations

from html import escape

from cds_hooks.commands.kb_genotype import _cite
from rules import KnowledgeBase
from rules.populations_tables import fetal_toxicity_table, organ_dose_table

_SCALES = {
    "nci-odwg": "NCI-ODWG (total bilirubin x ULN)",
    "child-pugh": "Child-Pugh class (asked for, never derived)",
    "crcl": "Creatinine clearance",
}


def population_tables_html(kb: KnowledgeBase) -> str:
    fetal = fetal_toxicity_table()
    organ = organ_dose_table()
    out = [
        '<h2 id="populations">Special-population tables</h2>',
        "<h3>Embryo-fetal toxicity (pregnancy rule)</h3>",
        "<p class=meta>A drug not listed has no verified label statement here and gets no "
        "pregnancy card. A pregnancy counts for 300 days from its record date unless a later "
        "record says not pregnant.</p>",
        "<table><tr><th>Drug</th><th>Label statement</th><th>Contraception</th>"
        "<th>Sources</th></tr>",
    ]
    for entry in fetal.drugs:
        drug = kb.valuesets.get(entry.drug).display or entry.drug
        out.append(
            f"<tr><td>{escape(drug)}</td><td>{escape(entry.statement)}</td>"
            f"<td>{escape(entry.contraception or 'period not verified')}</td>"
            f"<td>{_cite(kb, entry.sources)}</td></tr>"
        )
    out += [
        "</table>",
        "<h3>Hepatic and renal impairment (labelled dose changes at order time)</h3>",
        f"<p class=meta>Results from the {organ.lab_window_days} days before the order; the "
        "upper limit of normal is the one the laboratory sent with the result (none is "
        "assumed); eGFR is not used for the creatinine-clearance bands. A draft at or below "
        "the labelled daily dose gets no card.</p>",
        "<table><tr><th>Drug</th><th>Scale</th><th>Band</th><th>Label</th><th>Sources</th></tr>",
    ]
    for row in organ.rows:
        drug = kb.valuesets.get(row.drug).display or row.drug
        out.append(
            f"<tr><td>{escape(drug)}</td><td>{escape(_SCALES[row.scale])}</td>"
            f"<td>{escape(row.band)}</td><td>{escape(row.label)}</td>"
            f"<td>{_cite(kb, row.sources)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)
