"""``sarcoma-cds evaluate FILE``: print the cards the service would return.

FILE is a CDS Hooks request (``hook``, ``hookInstance``, ``context``, ``prefetch``) or a FHIR
Bundle holding the patient's resources (evaluated as patient-view). Nothing is fetched: only
what the file holds is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from cds_hooks.cards import render
from cds_hooks.commands.files import read_json_object
from fhir_mapping import map_prefetch
from rules import KnowledgeBaseError, evaluate, load_kb

HOOKS = ("patient-view", "order-select", "order-sign")


def _bundle_patient_id(bundle: dict[str, Any]) -> str | None:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient":
            value = resource.get("id")
            return str(value) if value else None
    return None


def _draft_orders(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    drafts: dict[str, dict[str, Any]] = {}
    bundle = context.get("draftOrders")
    if isinstance(bundle, dict):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("id"):
                drafts[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    return drafts


def build_call(
    document: dict[str, Any], hook_override: str | None
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(hook, hook_instance, context, prefetch) for a CDS request or a FHIR Bundle."""
    if document.get("resourceType") == "Bundle":
        patient_id = _bundle_patient_id(document) or "unknown"
        return (
            hook_override or "patient-view",
            "cli-evaluate",
            {"patientId": patient_id, "userId": "Practitioner/cli"},
            {"bundle": document},
        )
    if "hook" in document and isinstance(document.get("context"), dict):
        prefetch = document.get("prefetch")
        return (
            hook_override or str(document["hook"]),
            str(document.get("hookInstance") or "cli-evaluate"),
            dict(document["context"]),
            dict(prefetch) if isinstance(prefetch, dict) else {},
        )
    raise ValueError("the file is neither a FHIR Bundle nor a CDS Hooks request")


def _run(args: argparse.Namespace) -> int:
    document = read_json_object(args.file, "evaluate")
    if document is None:
        return 2
    try:
        hook, hook_instance, context, prefetch = build_call(document, args.hook)
    except ValueError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    if hook not in HOOKS:
        print(f"evaluate: unsupported hook {hook}", file=sys.stderr)
        return 2
    try:
        kb = load_kb(Path(args.kb) if args.kb else None)
    except KnowledgeBaseError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 3
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    result = map_prefetch(prefetch, context)
    recommendations = evaluate(result.patient, kb, as_of, hook)
    cards = render(
        recommendations,
        hook=hook,
        hook_instance=hook_instance,
        patient_id=str(context.get("patientId")),
        draft_orders=_draft_orders(context),
        kb_version=kb.version,
        issues=result.issues,
    )
    print(json.dumps({"cards": [card.to_wire() for card in cards]}, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "evaluate",
        help="print the cards for a CDS Hooks request or a FHIR Bundle (patient-view)",
    )
    parser.add_argument("file", metavar="FILE", help="JSON: CDS Hooks request or FHIR Bundle")
    parser.add_argument("--hook", choices=HOOKS, help="override the hook (default: the file's)")
    parser.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: today)")
    parser.add_argument("--kb", help="knowledge-base directory (default: the packaged KB)")
    parser.set_defaults(func=_run)
