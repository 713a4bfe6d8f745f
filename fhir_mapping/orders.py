"""The medication part of the mapping: medication resources and the hook's draft orders.

Mixed into the mapping's builder (:mod:`fhir_mapping.builder`), which provides the collected
resources, the shared lists of facts and issues, and the per-resource checks. A draft order
that cannot be checked becomes an :class:`~fhir_mapping.drafts.UncheckedOrder`, never silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from fhir_mapping import drafts, medications
from fhir_mapping.bundles import Collected
from fhir_mapping.codes import reference_of
from fhir_mapping.issues import MappingIssue
from fhir_mapping.parse import OTHER_VERSION_ELEMENTS, check_resource, other_version
from fhir_mapping.plain_orders import map_plain_request
from fhir_mapping.shared_memo import MISSING, SharedMemo
from rules.patient import CoMedication, TherapyExposure

#: Which drug a medication concept names (its JSON text -> :func:`medications.identify`),
#: for every call of this process (:mod:`fhir_mapping.shared_memo`).
IDENTIFIED: SharedMemo[medications.Identified | None] = SharedMemo()

#: What marks a MedicationRequest of another FHIR version (:func:`other_version`).
_REQUEST_MARKERS = OTHER_VERSION_ELEMENTS["MedicationRequest"]


class OrderMapping:
    """Medication resources -> therapy exposures, co-medications and unchecked drafts."""

    collected: Collected
    issues: list[MappingIssue]
    exposures: list[TherapyExposure]
    comedications: list[CoMedication]
    unchecked: list[drafts.UncheckedOrder]
    #: Identification per distinct medication concept (JSON text), for one call.
    identify_memo: dict[bytes, medications.Identified | None]
    #: Dose read and checked per distinct dosage (JSON text), for one call.
    dose_memo: medications.DoseMemo
    patient_id: str | None
    #: ``Patient/<patient_id>`` (the builder keeps it with ``patient_id``).
    own_subject: str | None

    def _checked(
        self, raw: Mapping[str, Any], *, ref: str | None = None, version_checked: bool = False
    ) -> dict[str, Any] | None:
        raise NotImplementedError

    def _other_patient(self, raw: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def _identify(self, concepts: list[Any]) -> medications.Identified | None:
        """:func:`medications.identify`, once per distinct concept per call (the cycles of one
        regimen repeat the same medication concept order after order) and, through
        :data:`IDENTIFIED`, once per worker process until evicted."""
        try:
            key = orjson.dumps(concepts)
        except (TypeError, orjson.JSONEncodeError):
            return medications.identify(concepts)
        memo = self.identify_memo
        if key in memo:  # (a bytes object keeps its hash: the second look-up does not rehash)
            return memo[key]
        # Not yet in this call: the process-wide memo holds what earlier calls identified.
        shared_key = IDENTIFIED.key(key)
        found = IDENTIFIED.get(shared_key)
        if found is MISSING:
            found = medications.identify(concepts)
            IDENTIFIED.put(shared_key, found)
        memo[key] = found
        return found

    def medication(
        self,
        raw: Mapping[str, Any],
        *,
        is_draft: bool = False,
        selected: frozenset[str] = frozenset(),
        ref: str | None = None,
    ) -> str | None:
        """Map one medication resource. For a draft order, return why it could not be checked
        (``None`` when it was checked, or is not an order to check). ``ref``:
        ``reference_of(raw)`` when the caller has it already.

        A prefetch MedicationRequest of the common shape is read here in fewer steps (the
        plain path, ending in :func:`~fhir_mapping.plain_orders.map_plain_request`): R4 (no
        element of another version), a ``medicationCodeableConcept`` object the drug tables
        identify, the context's patient as a plain ``subject`` reference. Anything else goes to
        the general path (:meth:`_medication`) before any effect (no issue, no fact). The steps
        the plain path skips answer nothing for such an order: no version issue, no reference
        to resolve, no draft to weigh, not another patient's. It reaches the same result
        (``tests/fhir_mapping/test_plain_orders.py``); it is written in this method, not in one
        of its own, as it runs for every order (a call less each)."""
        if (
            is_draft
            or ref is None
            or type(raw) is not dict
            or raw.get("resourceType") != "MedicationRequest"
            or not raw.keys().isdisjoint(_REQUEST_MARKERS)
        ):
            return self._medication(raw, is_draft=is_draft, selected=selected, ref=ref)
        concept = raw.get("medicationCodeableConcept")
        identified = self._identify([concept]) if type(concept) is dict else None
        if identified is None:
            return self._medication(raw, selected=selected, ref=ref)
        if self.patient_id is not None:
            subject = raw.get("subject")
            if type(subject) is not dict or subject.get("reference") != self.own_subject:
                # (_other_patient's common case only)
                return self._medication(raw, selected=selected, ref=ref)
        cleaned, issues = check_resource(raw, ref=ref, version_checked=True)
        if issues:
            self.issues.extend(issues)
            if cleaned is None:
                return "elements needed to check it are not valid FHIR R4 (see data quality)"
            return self._map_cleaned(raw, cleaned, identified, ref, False, frozenset())
        if cleaned is None:
            return "elements needed to check it are not valid FHIR R4 (see data quality)"
        if cleaned.get("id") is not raw.get("id") or cleaned.get("resourceType") is not raw.get(
            "resourceType"
        ):  # (never after a clean check, which answers a copy of raw)
            return self._map_cleaned(raw, cleaned, identified, ref, False, frozenset())
        mapped, found = map_plain_request(cleaned, identified, ref, self.dose_memo)
        if mapped is None:
            return self._map_cleaned(raw, cleaned, identified, ref, False, frozenset())
        if found:
            self.issues.extend(found)
        if type(mapped) is TherapyExposure:
            self.exposures.append(mapped)
        else:
            self.comedications.append(mapped)  # type: ignore[arg-type]
        return None

    def _medication(
        self,
        raw: Mapping[str, Any],
        *,
        is_draft: bool = False,
        selected: frozenset[str] = frozenset(),
        ref: str | None = None,
    ) -> str | None:
        """The general path of :meth:`medication`: any resource, any shape."""
        version_issue = other_version(raw)
        if version_issue is not None:
            self.issues.append(version_issue)
            return "it is not an R4 MedicationRequest"
        if is_draft and drafts.no_medication_chosen(raw):
            return None  # the client's order screen is open, no medication picked yet
        concepts, _ref_used, resolved = medications.medication_concept(raw, self.collected.resolve)
        if not resolved:
            self.issues.append(
                MappingIssue(
                    "unresolved-medication-reference",
                    reference_of(raw),
                    "medicationReference could not be resolved in the bundle, contained "
                    "resources or prefetch"
                    + ("; matched on its display only" if concepts else "; skipped"),
                )
            )
        identified = self._identify(concepts)
        if identified is None:
            if medications.looks_antineoplastic(raw, concepts) and not self._other_patient(raw):
                # Never guessed, but never silent either: an unknown cancer drug would
                # otherwise undercount the lines of therapy the rules reason about.
                self.issues.append(
                    MappingIssue(
                        "medication-not-identified",
                        reference_of(raw),
                        "a cancer-related medication (ATC L01 or mCODE cancer-related "
                        "request) is not in the drug table; not counted as a line of therapy",
                    )
                )
                return "its cancer medication is not in the drug table of this service"
            if not resolved and not concepts:
                return "its medicationReference could not be resolved"
            if not drafts.has_name(concepts):
                return "its medication has no name and no code this service knows"
            return None  # a medication outside the sarcoma knowledge base: nothing to check
        if self._other_patient(raw):
            return "it is for a different patient than the hook context"
        raw_reference = reference_of(raw) if ref is None else ref
        # The version was checked above; the reference is built once when validation kept
        # the elements it is made of.
        cleaned = self._checked(raw, ref=raw_reference, version_checked=True)
        if cleaned is None:
            return "elements needed to check it are not valid FHIR R4 (see data quality)"
        return self._map_cleaned(raw, cleaned, identified, raw_reference, is_draft, selected)

    def _map_cleaned(
        self,
        raw: Mapping[str, Any],
        cleaned: dict[str, Any],
        identified: medications.Identified,
        raw_reference: str,
        is_draft: bool,
        selected: frozenset[str],
    ) -> str | None:
        """The rest of :meth:`medication` once the order is identified and checked."""
        if cleaned.get("id") is raw.get("id") and cleaned.get("resourceType") is raw.get(
            "resourceType"
        ):
            reference = raw_reference
        else:
            reference = reference_of(cleaned)
        mapped, issues = medications.map_medication(
            cleaned,
            identified,
            ref=reference,
            is_draft=is_draft,
            is_selected=is_draft and reference in selected,
            dose_memo=self.dose_memo,
        )
        self.issues.extend(issues)
        if is_draft:
            for issue in issues:
                if issue.kind == "implausible-dose":
                    self.unchecked.append(
                        drafts.UncheckedOrder(
                            reference=reference,
                            reason=issue.problem,
                            label=drafts.label_of(raw),
                            selected=reference in selected,
                            kind="dose",
                        )
                    )
        if isinstance(mapped, TherapyExposure):
            self.exposures.append(mapped)
        elif isinstance(mapped, CoMedication):
            self.comedications.append(mapped)
        elif is_draft:
            return "its status could not be read"
        return None

    def draft(self, raw: Mapping[str, Any], selected: frozenset[str]) -> None:
        """One entry of ``context.draftOrders``: checked, skipped, or recorded as unchecked."""
        rtype = raw.get("resourceType")
        reference = reference_of(raw)
        if not isinstance(rtype, str):
            self.issues.append(
                MappingIssue("invalid-resource", reference, "resourceType is not a string")
            )
            reason: str | None = "its resourceType is not readable"
        elif rtype in medications.MEDICATION_TYPES:
            reason = self.medication(raw, is_draft=True, selected=selected, ref=reference)
        else:
            return  # other order types (ServiceRequest ...) are not checked by these rules
        if reason is not None:
            self.unchecked.append(
                drafts.UncheckedOrder(
                    reference=reference,
                    reason=reason,
                    label=drafts.label_of(raw),
                    selected=reference in selected,
                )
            )
