"""``sarcoma-cds evaluate FILE``: print the cards the service would return.

FILE is what ``map`` reads (:mod:`cds_hooks.commands.inputs`): a CDS Hooks request, a FHIR
Bundle of the patient's resources (its draft MedicationRequests are the hook's draft orders)
or one resource. Nothing is fetched: only what the file holds is used. The cards come from the
same code path as the service's (:func:`cds_hooks.services.sarcoma.answer`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cds_hooks.commands.inputs import HOOKS, InputError, load_call, parse_as_of
from cds_hooks.services.sarcoma import answer
from rules import KnowledgeBaseError, load_kb


def _run(args: argparse.Namespace) -> int:
    try:
        as_of = parse_as_of(args.as_of)
    except InputError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    call = load_call(args.file, args.hook, "evaluate")
    if call is None:
        return 2
    try:
        kb = load_kb(Path(args.kb) if args.kb else None)
    except KnowledgeBaseError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 3
    done = answer(
        call.prefetch,
        call.context,
        hook=call.hook,
        hook_instance=call.hook_instance,
        kb=kb,
        as_of=as_of,
    )
    cards = [card.to_wire() for card in done.cards]
    print(json.dumps({"cards": cards}, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "evaluate",
        help="print the cards for a CDS Hooks request or a FHIR Bundle (as map reads them)",
    )
    parser.add_argument(
        "file", metavar="FILE", help="JSON: a CDS Hooks request, a FHIR Bundle or one resource"
    )
    parser.add_argument(
        "--hook",
        choices=HOOKS,
        help="override the hook (default: the request's; for a Bundle, order-sign when it "
        "holds draft orders, else patient-view)",
    )
    parser.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: today)")
    parser.add_argument("--kb", help="knowledge-base directory (default: the packaged KB)")
    parser.set_defaults(func=_run)
