"""``sarcoma-cds map FILE``: show what the service understood from a Bundle or CDS request."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fhir_mapping import explain


def _run(args: argparse.Namespace) -> int:
    try:
        document = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"map: cannot read {args.file}: {type(exc).__name__}", file=sys.stderr)
        return 2
    if not isinstance(document, dict):
        print("map: the file must hold a JSON object", file=sys.stderr)
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
