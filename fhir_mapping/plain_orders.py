"""The common prefetch MedicationRequest, mapped in fewer steps than the general path.

A year of treatment is dozens of orders of one regimen (a cycle order each month) and of a few
co-medications, all of one shape: R4, a ``medicationCodeableConcept``, one of the request
statuses, a dosage without bounds. :func:`map_plain_request` reads such an order with
subscripts and the per-call memos of :mod:`fhir_mapping.medications` and answers exactly what
:func:`fhir_mapping.medications.map_medication` answers for it; any other status is left to
that function (``(None, [])``), and a dosage of another shape to its date reader.
``tests/fhir_mapping/test_plain_orders.py`` holds the two paths to the same result.
"""

from __future__ import annotations

from typing import Any

from fhir_mapping.dates import parse_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.medications import (
    DoseMemo,
    Identified,
    _dates,
    _dose,
    build_exposure,
    comedication,
    exposure_issues,
)
from fhir_mapping.order_status import (
    COMPLETED,
    INTENT_ELEMENTS,
    REASON_COMPLETED,
    REASON_UNKNOWN,
    REQUEST_STATUS,
    STOPPED,
    intent_of_order,
    stop_reason_of,
)
from fhir_mapping.tolerance_text import note_text
from rules.patient import Code, CoMedication, PartialDate, StopReason, TherapyExposure

__all__ = ["map_plain_request"]


def _request_dates(
    resource: dict[str, Any], dosages: Any
) -> tuple[PartialDate | None, PartialDate | None]:
    """:func:`fhir_mapping.medications._dates` of a MedicationRequest: ``authoredOn`` when no
    dosage has a ``timing.repeat.boundsPeriod`` (read here for plain JSON objects); any other
    shape is read by ``_dates`` itself."""
    if dosages is not None:
        if type(dosages) is not list:
            return _dates(resource)
        for dosage in dosages:
            if type(dosage) is not dict:
                return _dates(resource)
            timing = dosage.get("timing")
            if timing is None:
                continue
            if type(timing) is not dict:
                return _dates(resource)
            repeat = timing.get("repeat")
            if repeat is None:
                continue
            if type(repeat) is not dict or repeat.get("boundsPeriod") is not None:
                return _dates(resource)
    return parse_date(resource.get("authoredOn")), None


def map_plain_request(
    resource: dict[str, Any], identified: Identified, ref: str, dose_memo: DoseMemo
) -> tuple[TherapyExposure | CoMedication | None, list[MappingIssue]]:
    """``map_medication(resource, identified, ref=ref, dose_memo=dose_memo)`` for a checked
    prefetch MedicationRequest (not a draft) whose ``status`` is one of the request statuses;
    ``(None, [])`` for any other ``status`` (for ``map_medication`` to read)."""
    raw_status = resource.get("status")
    status = REQUEST_STATUS.get(raw_status) if type(raw_status) is str else None
    if status is None:
        return None, []
    stop_reason: StopReason | None = None
    stop_code: Code | None = None
    if status is STOPPED or status is COMPLETED:
        reason = resource.get("statusReason")
        if reason is None:  # (what stop_reason_of answers for no reason, without the call)
            stop_reason = REASON_COMPLETED if status is COMPLETED else REASON_UNKNOWN
        else:
            stop_reason, stop_code = stop_reason_of(status, [reason])
    dosages = resource.get("dosageInstruction")
    start, end = _request_dates(resource, dosages)
    drug = identified.drug
    if drug.is_comedication:
        return comedication(identified, status, ref, start, end), []
    product = identified.product
    reading, dose, implausible = _dose(
        dosages if isinstance(dosages, list) else [],
        product.strength_mg if product else None,
        drug.agent.ingredient,
        dose_memo,
    )
    return (
        build_exposure(
            drug.agent,
            status,
            ref,
            identified.code,
            start,
            end,
            stop_reason,
            stop_code,
            dose,
            None if resource.keys().isdisjoint(INTENT_ELEMENTS) else intent_of_order(resource),
            False,
            False,
            None,
            note_text(resource) if resource.get("note") else None,
        ),
        exposure_issues(reading, implausible, identified, ref)
        if reading.problems or implausible is not None or identified.matched_by == "name"
        else [],
    )
