"""Drafted drugs whose labelled population checks could not be made.

The pregnancy and organ-impairment rules read pregnancy status and liver and kidney results
from one search (the ``populations`` prefetch key). When that search was neither sent nor
obtainable (``Patient.labs_searched`` False), their silence about a drafted drug with label rows
means "not checked", not "nothing found": the order hooks say so on the cards about the draft.
A search that ran and found nothing is not such a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rules.loader import KnowledgeBase
from rules.patient import Patient
from rules.populations_tables import fetal_toxicity_table, organ_dose_table
from rules.predicates import Context, exposure_matches
from rules.predicates_orders import considered_drafts

ORDER_HOOKS = frozenset({"order-select", "order-sign"})


@dataclass(frozen=True, slots=True)
class PopulationGap:
    """A drafted drug with label population rows whose results-based checks were not made."""

    order_id: str
    #: The draft's FHIR reference (``MedicationRequest/<id>``), shown on the card.
    reference: str
    drug: str
    #: The label's populations for this drug: "pregnancy", "hepatic", "renal".
    checks: tuple[str, ...]

    def text(self) -> str:
        items = list(self.checks)
        listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        if items[-1] != "pregnancy":
            listed += " impairment"
        return (
            "Pregnancy status and liver/kidney results not available (not sent, search not "
            f"possible): {self.drug} label checks for {listed} not made from results"
        )


def population_gaps(
    patient: Patient, kb: KnowledgeBase, as_of: date, hook: str
) -> tuple[PopulationGap, ...]:
    """The drafts in focus (order hooks) with label rows, when the population search was not
    available; empty otherwise."""
    if hook not in ORDER_HOOKS or patient.labs_searched:
        return ()
    ctx = Context(patient=patient, valuesets=kb.valuesets, as_of=as_of, hook=hook, lines=())
    fetal = fetal_toxicity_table().drugs
    organ = organ_dose_table().rows
    gaps: list[PopulationGap] = []
    for draft in considered_drafts(ctx):
        checks: list[str] = []
        if any(exposure_matches(ctx, d.drug, draft) for d in fetal):
            checks.append("pregnancy")
        for kind in ("hepatic", "renal"):
            if any(r.organ == kind and exposure_matches(ctx, r.drug, draft) for r in organ):
                checks.append(kind)
        if not checks:
            continue
        name = draft.agent.ingredient or (draft.code.display if draft.code else None) or "drug"
        gaps.append(
            PopulationGap(draft.order_id or draft.source_ref, draft.source_ref, name, tuple(checks))
        )
    return tuple(gaps)
