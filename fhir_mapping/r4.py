"""The only module that imports fhir.resources (R4B classes validate R4 payloads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Validation:
    """Outcome of validating one resource.

    ``unknown`` are paths of elements R4B does not define (dropped by the caller);
    ``errors`` are ``(path, error type)`` pairs of every other problem.
    """

    unknown: tuple[Path, ...]
    errors: tuple[tuple[Path, str], ...]

    @property
    def valid(self) -> bool:
        return not self.unknown and not self.errors


def is_resource_type(name: str) -> bool:
    """True if R4B defines a resource (or data type) class of this name."""
    try:
        get_fhir_model_class(name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return False
    return True


def validate(raw: Mapping[str, Any]) -> Validation:
    """Validate one resource against its R4B class; never raises on bad data."""
    try:
        model = get_fhir_model_class(str(raw.get("resourceType")))
    except (ValueError, KeyError, AttributeError, ImportError):
        return Validation((), (((), "unknown-resource-type"),))
    try:
        model.model_validate(dict(raw))
    except ValidationError as exc:
        unknown: list[Path] = []
        errors: list[tuple[Path, str]] = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                unknown.append(loc)
            else:
                errors.append((loc, str(error["type"])))
        return Validation(tuple(unknown), tuple(errors))
    except (TypeError, ValueError, RecursionError) as exc:
        return Validation((), (((), type(exc).__name__),))
    return Validation((), ())
