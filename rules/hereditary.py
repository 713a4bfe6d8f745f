"""Hereditary tumour syndromes recorded as clinical diagnoses (not as variants).

A patient can carry a clinical diagnosis such as neurofibromatosis type 1 without any genetic
result on record. Rules that depend on the syndrome read these facts alongside germline
variants. Plain, frozen, FHIR-free, like the rest of :mod:`rules.patient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rules.frozen import fast_init

__all__ = ["HereditaryCondition", "HereditarySyndrome"]


class HereditarySyndrome(StrEnum):
    """Syndromes a rule can name; the codes that map to each live in ``fhir_mapping/data``."""

    NEUROFIBROMATOSIS_TYPE_1 = "neurofibromatosis-type-1"


@fast_init
@dataclass(frozen=True, slots=True)
class HereditaryCondition:
    """A recorded (not refuted) diagnosis of a hereditary syndrome."""

    syndrome: HereditarySyndrome
    source_ref: str
    text: str
