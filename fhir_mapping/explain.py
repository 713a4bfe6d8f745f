"""explain(): what the service understood from a FHIR Bundle or a CDS Hooks request, as JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from fhir_mapping.codes import as_dict
from fhir_mapping.mapping import MappingResult, map_prefetch
from rules.patient import PartialDate


def to_jsonable(value: Any) -> Any:
    """Dataclasses -> dicts (``None`` and empty members omitted), enums -> values,
    Decimal -> str, PartialDate -> ISO text of its precision."""
    if isinstance(value, PartialDate):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = to_jsonable(getattr(value, f.name))
            if item is None or item in ((), [], {}):
                continue
            out[f.name] = item
        return out
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [to_jsonable(v) for v in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def result_to_dict(result: MappingResult) -> dict[str, Any]:
    patient = result.patient
    lines = patient.lines_of_therapy()
    current = patient.current_line()
    return {
        "patient": to_jsonable(patient),
        "derived": {
            "primary_histology": to_jsonable(patient.primary_histology()),
            "lines_of_therapy": [
                {
                    "number": line.number,
                    "agents": list(line.agents),
                    "start": to_jsonable(line.start),
                    "end": to_jsonable(line.end),
                    "ended_by": to_jsonable(line.ended_by),
                    "end_evidence": list(line.end_evidence),
                    "source_refs": list(line.source_refs),
                }
                for line in lines
            ],
            "current_line": current.number if current else None,
            "prior_agents": sorted(patient.prior_agents()),
        },
        "issues": [to_jsonable(issue) for issue in result.issues],
    }


def explain(document: Mapping[str, Any]) -> dict[str, Any]:
    """Accept a FHIR resource/Bundle or a CDS Hooks request; return the model and issues."""
    if not isinstance(document, Mapping):
        document = {}
    if "hook" in document and ("context" in document or "prefetch" in document):
        prefetch = as_dict(document.get("prefetch"))
        context = as_dict(document.get("context"))
        result = map_prefetch(prefetch, context)
    else:
        result = map_prefetch({"document": document}, {})
    return result_to_dict(result)
