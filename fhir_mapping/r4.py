"""The only module that imports fhir.resources (R4B classes validate R4 payloads)."""

from __future__ import annotations

import functools
import types
import typing
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
        try:
            details = exc.errors(include_url=False, include_input=False)
        except ValueError as unrenderable:  # a message naming a lone surrogate of the input
            return Validation((), (((), type(unrenderable).__name__),))
        unknown: list[Path] = []
        errors: list[tuple[Path, str]] = []
        for error in details:
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                unknown.append(loc)
            else:
                errors.append((loc, str(error["type"])))
        return Validation(tuple(unknown), tuple(errors))
    except (TypeError, ValueError, RecursionError, AttributeError, KeyError, IndexError) as exc:
        # fhir.resources' own validators can fail on shapes they do not expect (a string for a
        # ``_recordedDate`` extension sibling raises AttributeError): the resource is not valid.
        return Validation((), (((), type(exc).__name__),))
    return Validation((), ())


@dataclass(frozen=True, slots=True)
class Element:
    """One element of an R4B type as its JSON names it: ``kind`` is the primitive type's name
    (``"string"``, ``"dateTime"``, ``"boolean"``...) or ``""`` for a complex type, named by
    ``complex_type`` (``"CodeableConcept"``); ``"unsupported"`` when neither (a nested resource,
    a union)."""

    many: bool
    kind: str
    complex_type: str = ""


@dataclass(frozen=True, slots=True)
class Shape:
    """The elements of an R4B type by JSON name, those it requires, and its choice groups
    (``value[x]``: the names of the group, and whether one of them is required); ``names`` is
    every member name its model accepts (JSON names, ``_x`` siblings and their Python names):
    any other member is an element R4B does not define."""

    elements: Mapping[str, Element]
    required: frozenset[str]
    choices: tuple[tuple[frozenset[str], bool], ...]
    names: frozenset[str]


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else None
    return annotation


def _element(annotation: Any) -> Element:
    inner = _unwrap(annotation)
    many = typing.get_origin(inner) is list
    if many:
        inner = _unwrap(typing.get_args(inner)[0])
    if inner is bool:
        return Element(many, "boolean")
    if typing.get_origin(inner) is typing.Annotated:
        names = [getattr(m, "__visit_name__", "") for m in typing.get_args(inner)[1:]]
        return Element(many, next((n for n in names if n), "unsupported"))
    klass = getattr(inner, "get_model_klass", None)
    if klass is not None:
        name = str(klass().__name__)
        if name not in ("Resource", "Element", "FHIRPrimitiveExtension"):
            return Element(many, "", name)
    return Element(many, "unsupported")


@functools.cache
def shape(type_name: str) -> Shape | None:
    """The :class:`Shape` of an R4B resource or data type, read from its fhir.resources model
    (``None`` if R4B has no such type)."""
    try:
        model = get_fhir_model_class(type_name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None
    elements: dict[str, Element] = {}
    required: set[str] = set()
    groups: dict[str, tuple[list[str], bool]] = {}
    names: set[str] = {"resourceType"}
    for name, field in model.model_fields.items():
        names.update((name, field.alias or name))
        extra = field.json_schema_extra
        if not isinstance(extra, dict) or not extra.get("element_property"):
            continue  # fhir_comments and the ``_name`` extension siblings
        key = field.alias or name
        elements[key] = _element(field.annotation)
        if field.is_required() or extra.get("element_required"):
            required.add(key)
        group = extra.get("one_of_many")
        if isinstance(group, str):
            groups.setdefault(group, ([], extra.get("one_of_many_required") is True))[0].append(key)
    choices = tuple((frozenset(names), needed) for names, needed in groups.values())
    return Shape(elements, frozenset(required), choices, frozenset(names))
