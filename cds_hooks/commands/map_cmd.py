"""``sarcoma-cds map FILE``: show what the service understood from a Bundle or CDS request."""

from __future__ import annotations

import argparse
import json

from cds_hooks.commands.files import read_json_object
from fhir_mapping import explain


def _run(args: argparse.Namespace) -> int:
    document = read_json_object(args.file, "map")
    if document is None:
        return 2
    print(json.dumps(explain(document), indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "map",
        help="show the patient model and mapping issues for a FHIR Bundle or CDS Hooks request",
    )
    parser.add_argument("file", metavar="FILE", help="JSON file: a FHIR Bundle or a CDS request")
    parser.set_defaults(func=_run)
