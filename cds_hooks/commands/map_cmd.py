"""``sarcoma-cds map FILE``: show what the service understood from a Bundle or CDS request."""

from __future__ import annotations

import argparse
import json

from cds_hooks.commands.inputs import HOOKS, load_call
from fhir_mapping import map_prefetch
from fhir_mapping.explain import result_to_dict


def _run(args: argparse.Namespace) -> int:
    call = load_call(args.file, args.hook, "map")
    if call is None:
        return 2
    result = map_prefetch(call.prefetch, call.context)
    print(json.dumps(result_to_dict(result), indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "map",
        help="show the patient model and mapping issues for a FHIR Bundle or CDS Hooks request",
    )
    parser.add_argument(
        "file", metavar="FILE", help="JSON: a CDS Hooks request, a FHIR Bundle or one resource"
    )
    parser.add_argument(
        "--hook", choices=HOOKS, help="the hook a Bundle's draft orders belong to (as evaluate)"
    )
    parser.set_defaults(func=_run)
