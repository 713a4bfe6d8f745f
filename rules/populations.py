"""Special populations: pregnancy status and the organ-function laboratory results.

Plain, frozen, FHIR-free facts like the rest of :mod:`rules.patient`. ``fhir_mapping``
builds them from pregnancy Conditions and Observations and from laboratory Observations;
the predicates in :mod:`rules.predicates_populations` read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rules.frozen import fast_init
from rules.values import PartialDate

__all__ = ["LabKind", "LabResult", "PregnancyRecord", "PregnancyStatus", "RenalImpairmentRecord"]


class PregnancyStatus(StrEnum):
    PREGNANT = "pregnant"
    NOT_PREGNANT = "not-pregnant"


@fast_init
@dataclass(frozen=True, slots=True)
class PregnancyRecord:
    """One recorded pregnancy status: a pregnancy Condition or a pregnancy-status Observation.

    ``date`` is the Observation's effective date, or the Condition's onset (else recorded)
    date; ``None`` when the record carries none. ``source_kind`` is ``condition`` or
    ``observation``.
    """

    status: PregnancyStatus
    source_ref: str
    source_kind: str
    text: str
    date: PartialDate | None = None


class LabKind(StrEnum):
    BILIRUBIN_TOTAL = "bilirubin-total"
    ALT = "alt"
    AST = "ast"
    CREATININE_CLEARANCE = "creatinine-clearance"
    # Estimated GFR (mL/min/1.73 m2): context only on renal cards; no labelled dose is read
    # from it (the labels' renal bands are creatinine clearance).
    EGFR = "egfr"


#: How each laboratory kind is named on a card.
LAB_NAMES = {
    LabKind.BILIRUBIN_TOTAL: "Total bilirubin",
    LabKind.ALT: "ALT",
    LabKind.AST: "AST",
    LabKind.CREATININE_CLEARANCE: "Creatinine clearance",
    LabKind.EGFR: "eGFR",
}


@fast_init
@dataclass(frozen=True, slots=True)
class LabResult:
    """One numeric laboratory result in its canonical unit (mg/dL, U/L, mL/min or
    mL/min/1.73 m2).

    ``uln`` is the upper limit of normal from the Observation's own reference range (same
    unit), ``None`` when the lab did not send one: no upper limit is ever assumed.
    """

    kind: LabKind
    value: Decimal
    unit: str
    source_ref: str
    date: PartialDate | None = None
    uln: Decimal | None = None

    @property
    def times_uln(self) -> Decimal | None:
        if self.uln is None or self.uln <= 0:
            return None
        return self.value / self.uln


@fast_init
@dataclass(frozen=True, slots=True)
class RenalImpairmentRecord:
    """A current Condition that states chronic kidney disease stage 3 to 5, end-stage renal
    disease or dependence on dialysis.

    A CKD stage is defined by eGFR (mL/min/1.73 m2): ``[egfr_from, egfr_below)`` is the band the
    stage implies (``egfr_below`` None: no upper bound). It is never a creatinine clearance,
    which is what the labels' renal bands use. ``dialysis``: the Condition says the patient is
    on dialysis.
    """

    text: str
    egfr_from: int
    egfr_below: int | None
    dialysis: bool
    source_ref: str
    date: PartialDate | None = None

    @property
    def band(self) -> str:
        if self.egfr_from == 0 and self.egfr_below is not None:
            return f"eGFR below {self.egfr_below} mL/min/1.73 m2"
        if self.egfr_below is None:
            return f"eGFR {self.egfr_from} mL/min/1.73 m2 or more"
        return f"eGFR {self.egfr_from}-{self.egfr_below - 1} mL/min/1.73 m2"
