"""Reading the JSON document a CLI subcommand was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def read_json_object(path: str, command: str) -> dict[str, Any] | None:
    """The file's JSON object, or ``None`` after printing why it cannot be used."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{command}: cannot read {path}: {type(exc).__name__}", file=sys.stderr)
        return None
    if not isinstance(document, dict):
        print(f"{command}: the file must hold a JSON object", file=sys.stderr)
        return None
    return document
