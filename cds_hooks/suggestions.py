"""FHIR R4 resources and actions for card suggestions (CDS Hooks 2.0 ``suggestions``).

New orders are ``draft``/``order`` MedicationRequests or ServiceRequests for
``Patient/<id>`` with verified codes only: the RxNorm ingredient, the RxNorm clinical drug when
the dose is one tablet or capsule of a standard strength, and ATC; ``authoredOn`` is the date of
the call and ``requester`` comes from ``context.userId`` when it is a Practitioner or
PractitionerRole. Replacing a drafted drug is one ``update`` of the draft (same id, new
medication and dose): clients such as the CDS Hooks Sandbox apply only the first action of a
suggestion, so a ``[delete, create]`` pair would empty the order and never create the new one.
Removing a draft is one ``delete``; changing its dose is one ``update`` of the draft's conformant
elements.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cds_hooks.models import Action
from fhir_mapping.parse import check_resource
from fhir_mapping.products import product_table
from fhir_mapping.tables import drug_table
from rules import SuggestedAction
from rules.results import DoseSpec

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"


def _product_codings(action: SuggestedAction) -> list[dict[str, str]]:
    """RxNorm ingredient (and clinical drug, when the dose is one tablet or capsule of a
    standard strength) from the verified drug tables, for a drug the KB codes by ATC only."""
    assert action.drug is not None
    names = {action.drug.display.lower(), action.drug.id.removeprefix("drug-")}
    drug = next((d for d in drug_table().drugs if d.agent.ingredient in names), None)
    if drug is None or drug.agent.ingredient is None:
        return []
    codings: list[dict[str, str]] = []
    if drug.agent.rxnorm:
        codings.append(
            {"system": RXNORM, "code": drug.agent.rxnorm, "display": drug.agent.ingredient}
        )
    if action.dose is not None and action.dose.unit == "mg":
        strength = Decimal(str(action.dose.value))
        product = product_table().clinical_drug(drug.agent.ingredient, strength)
        if product is not None:
            codings.append({"system": RXNORM, "code": product.rxnorm, "display": product.name})
    return codings


def _medication_concept(action: SuggestedAction) -> dict[str, Any]:
    assert action.drug is not None
    codings: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    kb_codes = [
        {"system": c.system, "code": c.code, "display": c.display}
        for c in action.drug.codes
        if c.system in {RXNORM, ATC}
    ]
    atc = [c for c in kb_codes if c["system"] == ATC][:1]
    rxnorm = [c for c in kb_codes if c["system"] == RXNORM][:1]
    for coding in [*rxnorm, *_product_codings(action), *atc]:
        key = (coding["system"], coding["code"])
        if key not in seen:
            seen.add(key)
            codings.append(coding)
    concept: dict[str, Any] = {"text": action.drug.display}
    if codings:
        concept["coding"] = codings
    return concept


def _dosage(dose: DoseSpec | None, text: str | None) -> list[dict[str, Any]] | None:
    if dose is None and text is None:
        return None
    instruction: dict[str, Any] = {"text": text or (dose.text if dose else "")}
    if dose is not None:
        instruction["timing"] = {
            "repeat": {"frequency": dose.times_per_day, "period": 1, "periodUnit": "d"}
        }
        instruction["doseAndRate"] = [
            {
                "doseQuantity": {
                    "value": dose.value,
                    "unit": dose.unit,
                    "system": UCUM,
                    "code": dose.unit,
                }
            }
        ]
    return [instruction]


def _requester(user_id: str | None) -> dict[str, str] | None:
    """``context.userId`` as the requester, when it is a Practitioner or PractitionerRole."""
    if not isinstance(user_id, str):
        return None
    kind, _, rid = user_id.strip().partition("/")
    if kind in {"Practitioner", "PractitionerRole"} and rid and "/" not in rid:
        return {"reference": f"{kind}/{rid}"}
    return None


def _new_medication_request(
    action: SuggestedAction,
    patient_id: str,
    *,
    authored_on: str | None = None,
    user_id: str | None = None,
    draft_id: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "MedicationRequest"}
    if draft_id:
        resource["id"] = draft_id
    resource.update(
        {
            "status": "draft",
            "intent": "order",
            "subject": {"reference": f"Patient/{patient_id}"},
            "medicationCodeableConcept": _medication_concept(action),
        }
    )
    if authored_on:
        resource["authoredOn"] = authored_on
    requester = _requester(user_id)
    if requester:
        resource["requester"] = requester
    dosage = _dosage(action.dose, action.dose_text)
    if dosage:
        resource["dosageInstruction"] = dosage
    return resource


def _new_service_request(action: SuggestedAction, patient_id: str) -> dict[str, Any]:
    assert action.test is not None
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "code": {
            "coding": [
                {"system": c.system, "code": c.code, "display": c.display}
                for c in action.test.codes
            ],
            "text": action.test.display,
        },
    }


def _find_draft(
    draft_orders: Mapping[str, Mapping[str, Any]], order_id: str
) -> tuple[str, Mapping[str, Any] | None]:
    """The draft's ``Type/id`` reference and resource, looked up by id or by reference."""
    if order_id in draft_orders:
        resource = draft_orders[order_id]
        kind = str(resource.get("resourceType", "MedicationRequest"))
        return (order_id if "/" in order_id else f"{kind}/{order_id}"), resource
    for key, resource in sorted(draft_orders.items()):
        if key.rsplit("/", 1)[-1] == order_id or resource.get("id") == order_id:
            return f"{resource.get('resourceType', 'MedicationRequest')}/{order_id}", resource
    return f"MedicationRequest/{order_id}", None


def actions_for(
    action: SuggestedAction,
    *,
    patient_id: str,
    draft_orders: Mapping[str, Mapping[str, Any]],
    authored_on: str | None = None,
    user_id: str | None = None,
) -> list[Action] | None:
    """FHIR actions for one suggested action; ``None`` when it cannot be expressed safely.

    One action per suggestion: clients may apply only the first one."""
    if action.type == "create-medication-request":
        return [
            Action(
                type="create",
                description=action.label,
                resource=_new_medication_request(
                    action, patient_id, authored_on=authored_on, user_id=user_id
                ),
            )
        ]
    if action.type == "create-service-request":
        return [
            Action(
                type="create",
                description=action.label,
                resource=_new_service_request(action, patient_id),
            )
        ]
    if action.target_order_id is None:
        return None
    reference, draft = _find_draft(draft_orders, action.target_order_id)
    if action.type == "delete-draft":
        return [Action(type="delete", description=action.label, resource_id=reference)]
    if action.type == "replace-draft":
        kind, _, draft_id = reference.partition("/")
        if kind != "MedicationRequest" or not draft_id:
            return None
        return [
            Action(
                type="update",
                description=f"{action.label} (replaces the draft order {reference})",
                resource=_new_medication_request(
                    action,
                    patient_id,
                    authored_on=authored_on,
                    user_id=user_id,
                    draft_id=draft_id,
                ),
            )
        ]
    # update-draft-dose: the whole draft resource, modified; impossible without the draft.
    # Only its conformant elements are sent back (outbound strict; the Sandbox's object
    # ``category`` is not echoed).
    if draft is None or "id" not in draft:
        return None
    updated, _issues = check_resource(draft)
    if updated is None:
        return None
    dosage = _dosage(action.dose, action.dose_text)
    if dosage:
        updated["dosageInstruction"] = dosage
    return [Action(type="update", description=action.label, resource=updated)]


__all__ = ["actions_for"]
