"""Labelled interaction classes of co-medications, and the predicate that finds them.

A co-medication (``rules.patient.CoMedication``) carries its CYP3A4 role and the interaction
classes the drug table (``fhir_mapping/data/drugs.yaml``) gives it. The classes name why a
label cares about the drug, not a mechanism guessed here: each is used by rules that cite the
label of the sarcoma drug concerned.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from rules.patient import CoMedication
from rules.predicates import Context, Findings, Params, predicate
from rules.results import Finding


class InteractionClass(StrEnum):
    #: Proton-pump inhibitors and H2-receptor antagonists (pazopanib label: raise gastric pH).
    ACID_REDUCER = "acid-reducer"
    #: Drugs with a known risk of QT prolongation (for kinase inhibitors whose label warns).
    QT_PROLONGING = "qt-prolonging"
    #: CYP3A substrates with a narrow therapeutic range (crizotinib and imatinib labels).
    CYP3A_NARROW_SUBSTRATE = "cyp3a-narrow-substrate"
    #: Sensitive CYP3A substrates the imatinib label names (simvastatin).
    CYP3A_SENSITIVE_SUBSTRATE = "cyp3a-sensitive-substrate"
    #: Warfarin (imatinib label: CYP2C9/CYP3A4 substrate; heparin preferred).
    VITAMIN_K_ANTAGONIST = "vitamin-k-antagonist"


_LABELS = {
    InteractionClass.ACID_REDUCER: "acid-reducing agent",
    InteractionClass.QT_PROLONGING: "QT-prolonging drug",
    InteractionClass.CYP3A_NARROW_SUBSTRATE: "CYP3A substrate with a narrow therapeutic range",
    InteractionClass.CYP3A_SENSITIVE_SUBSTRATE: "sensitive CYP3A substrate",
    InteractionClass.VITAMIN_K_ANTAGONIST: "vitamin K antagonist",
}


def in_use(patient_comeds: tuple[CoMedication, ...], classes: set[str]) -> list[CoMedication]:
    """Current or drafted co-medications of any of ``classes``, in a stable order."""
    hits = [
        c
        for c in patient_comeds
        if (c.is_current or c.is_draft) and not c.classes.isdisjoint(classes)
    ]
    return sorted(hits, key=lambda c: c.source_ref)


class ComedicationClassParams(Params):
    classes: list[InteractionClass] = Field(min_length=1)


@predicate("comedication_class", ComedicationClassParams)
def comedication_class(ctx: Context, a: ComedicationClassParams) -> Findings:
    """A current or drafted co-medication of one of the labelled interaction classes."""
    wanted = {c.value for c in a.classes}
    found = []
    for c in in_use(ctx.patient.comedications, wanted):
        names = ", ".join(_LABELS[InteractionClass(k)] for k in sorted(c.classes & wanted))
        name = c.agent.ingredient or (c.code.display if c.code else "drug")
        draft = " (draft order)" if c.is_draft else ""
        found.append(Finding(f"Co-medication {name}{draft}: {names}", c.source_ref, c.order_id))
    return tuple(found)
