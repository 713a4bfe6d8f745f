"""The input of ``map`` and ``evaluate``: one JSON file, read the same way by both.

The file is a CDS Hooks request (``hook``, ``context``, ``prefetch``), a FHIR Bundle of the
patient's resources, or one FHIR resource. A Bundle's draft MedicationRequests are the hook's
draft orders, as an EHR would send them (``context.draftOrders``; all of them selected for
order-select); a Bundle that holds any is evaluated as ``order-sign`` unless ``--hook`` says
otherwise. Every problem is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

HOOKS = ("patient-view", "order-select", "order-sign")
ORDER_HOOKS = ("order-select", "order-sign")


class InputError(Exception):
    """The input cannot be used; the message is the one line the user sees."""


@dataclass(frozen=True, slots=True)
class Call:
    hook: str
    hook_instance: str
    context: dict[str, Any]
    prefetch: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def read_document(path: str) -> dict[str, Any]:
    """The file's JSON object."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if not raw.strip():
        raise InputError(f"{path} is empty: give a CDS Hooks request or a FHIR Bundle (JSON)")
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: give a JSON file") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(document, dict):
        raise InputError(f"{path} holds a JSON {type(document).__name__}, not an object")
    return document


def parse_as_of(value: str | None) -> date:
    """``--as-of YYYY-MM-DD`` (default: today)."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--as-of {value!r} is not a date: use YYYY-MM-DD") from None


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]


def _patient_id(resources: list[dict[str, Any]]) -> str:
    for resource in resources:
        if resource.get("resourceType") == "Patient" and resource.get("id"):
            return str(resource["id"])
    for resource in resources:
        subject = resource.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        if isinstance(reference, str) and reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
    return "unknown"


def _is_draft_order(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "MedicationRequest" and resource.get("status") in (
        "draft",
        None,
    )


def _bundle_call(document: dict[str, Any], hook: str | None) -> Call:
    one = document.get("resourceType") != "Bundle"
    resources = [document] if one else _resources(document)
    drafts = [r for r in resources if _is_draft_order(r) and r.get("id")]
    notes: list[str] = []
    if hook is None:
        hook = "order-sign" if drafts else "patient-view"
        if drafts:
            notes.append(
                f"the Bundle holds {len(drafts)} draft {_orders(len(drafts))}: evaluated as "
                "order-sign (--hook chooses another hook)"
            )
    context: dict[str, Any] = {
        "patientId": _patient_id(resources),
        "userId": "Practitioner/cli",
    }
    kept = resources
    if hook in ORDER_HOOKS and drafts:
        kept = [r for r in resources if r not in drafts]
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in drafts],
        }
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{r['id']}" for r in drafts]
    prefetch = {
        "bundle": {
            "resourceType": "Bundle",
            "type": "collection",
            **({"entry": [{"resource": r} for r in kept]} if kept else {}),
        }
    }
    return Call(hook, "cli-evaluate", context, prefetch, notes)


def _orders(count: int) -> str:
    return "order" if count == 1 else "orders"


def as_call(document: dict[str, Any], hook: str | None) -> Call:
    """(hook, hook instance, context, prefetch) for any accepted input; ``hook`` overrides."""
    if hook is not None and hook not in HOOKS:
        raise InputError(f"unsupported hook {hook}: use one of {', '.join(HOOKS)}")
    if "hook" in document:
        context = document.get("context")
        if not isinstance(context, dict):
            raise InputError("the CDS Hooks request has no context object")
        chosen = hook or str(document["hook"])
        if chosen not in HOOKS:
            raise InputError(f"unsupported hook {chosen}: use one of {', '.join(HOOKS)}")
        prefetch = document.get("prefetch")
        return Call(
            chosen,
            str(document.get("hookInstance") or "cli-evaluate"),
            dict(context),
            dict(prefetch) if isinstance(prefetch, dict) else {},
        )
    if isinstance(document.get("resourceType"), str):
        return _bundle_call(document, hook)
    raise InputError("the file is neither a CDS Hooks request nor a FHIR Bundle or resource")


def load_call(path: str, hook: str | None, command: str) -> Call | None:
    """Read ``path`` as a :class:`Call`; ``None`` after printing the one-line reason."""
    try:
        call = as_call(read_document(path), hook)
    except InputError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None
    for note in call.notes:
        print(f"{command}: {note}", file=sys.stderr)
    return call
