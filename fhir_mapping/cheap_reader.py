"""Prove a resource conformant without fhir.resources, in a walk of its members.

Validating one small resource with its fhir.resources (pydantic) model costs ~0.3 ms, and a body
may hold thousands of distinct resources the mapping reads (3,000 GIST Conditions are 1.2 MB):
about a second of CPU. :func:`conformant` walks the resource against the element tables of the
same R4B models (:func:`fhir_mapping.r4.shape`) and checks each primitive with rules *stricter*
than R4B's. It answers ``True`` only when the full check (:func:`fhir_mapping.parse.check_resource`)
would find nothing: no ``modifierExtension``, no element R4B does not define, no error. Anything
it cannot prove (a ``null``, an empty list or object, a ``_name`` extension sibling, a contained
resource, a leap second, an over-long string, a time, binary data...) is ``False``: "not
proven", never "invalid". The caller then runs the full check, so every non-conformance is
still judged, worded and dropped by one implementation.

:func:`unknown_elements` goes one step further: when the only thing the full check would report
is top-level members R4B does not define (an EHR's own element, a misspelling), it names them in
their order, as R4B validation would, and the rest of the resource is proven conformant.

``tests/fhir_mapping/test_cheap_reader.py`` holds both to that: on fixture, generated and
mutated resources, the verdict with the cheap reader equals the fhir.resources path's verdict.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Any

from fhir_mapping import r4

#: Nesting deeper than this (extensions of extensions...) is left to the full check.
MAX_DEPTH = 24
#: Strings longer than this are left to the full check (R4B allows 1 MiB).
MAX_STRING = 65_536

_BAD_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_CODE = re.compile(r"[^\s]+(?: [^\s]+)*")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_URI = re.compile(r"\S{1,4096}")
_DATE = re.compile(r"([1-9][0-9]{3})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12][0-9]|3[01]))?)?")
_INSTANT = re.compile(
    r"([1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)"
)
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INT32 = (-(2**31), 2**31 - 1)


def _string(value: Any) -> bool:
    return (
        type(value) is str
        and 0 < len(value) <= MAX_STRING
        and not value.isspace()
        and _BAD_CHARACTERS.search(value) is None
    )


def _code(value: Any) -> bool:
    return _string(value) and _CODE.fullmatch(value) is not None


def _id(value: Any) -> bool:
    return type(value) is str and _ID.fullmatch(value) is not None


def _uri(value: Any) -> bool:
    return type(value) is str and _URI.fullmatch(value) is not None and value.isprintable()


def _real_date(match: re.Match[str]) -> bool:
    year, month, day = match.group(1, 2, 3)
    if day is None:
        return True
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _date(value: Any) -> bool:
    match = _DATE.fullmatch(value) if type(value) is str else None
    return match is not None and _real_date(match)


def _instant(value: Any) -> bool:
    match = _INSTANT.fullmatch(value) if type(value) is str else None
    return match is not None and _real_date(match)


def _date_time(value: Any) -> bool:
    return _date(value) or _instant(value)


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _integer(low: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return type(value) is int and low <= value <= _INT32[1]

    return check


def _decimal(value: Any) -> bool:
    if type(value) is int:
        return abs(value) < 10**15
    return (
        type(value) is float and math.isfinite(value) and _DECIMAL.fullmatch(str(value)) is not None
    )


#: The primitive types this reader can prove, by R4B name. Every other one is left to the full
#: check (base64Binary, xhtml, time, url, oid, uuid...).
PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "string": _string,
    "markdown": _string,
    "code": _code,
    "id": _id,
    "uri": _uri,
    "canonical": _uri,
    "date": _date,
    "dateTime": _date_time,
    "instant": _instant,
    "boolean": _boolean,
    "integer": _integer(_INT32[0]),
    "unsignedInt": _integer(0),
    "positiveInt": _integer(1),
    "decimal": _decimal,
}


def _value(value: Any, element: r4.Element, depth: int) -> bool:
    if element.kind:
        check = PRIMITIVES.get(element.kind)
        return check is not None and check(value)
    return _object(value, element.complex_type, depth + 1)


def _object(node: Any, type_name: str, depth: int, *, root: bool = False) -> bool:
    if type(node) is not dict or not node or depth > MAX_DEPTH:
        return False
    shape = r4.shape(type_name)
    if shape is None:
        return False
    elements = shape.elements
    for key, value in node.items():
        if root and key == "resourceType":
            continue
        element = elements.get(key)
        if element is None or key == "modifierExtension":
            return False
        if element.many:
            if type(value) is not list or not value:
                return False
            for item in value:
                if not _value(item, element, depth):
                    return False
        elif not _value(value, element, depth):
            return False
    for name in shape.required:
        if name not in node:
            return False
    for names, needed in shape.choices:
        present = len(names.intersection(node))
        if present > 1 or (needed and not present):
            return False
    return True


def _no_modifier_extension(node: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if type(node) is dict:
        return "modifierExtension" not in node and all(
            _no_modifier_extension(v, depth + 1) for v in node.values()
        )
    if type(node) is list:
        return all(_no_modifier_extension(v, depth + 1) for v in node)
    return True


def conformant(raw: Any) -> bool:
    """True only if the full check of ``raw`` (R4B validation, the ``modifierExtension`` walk)
    would find nothing to report; ``False`` when that is not proven."""
    if type(raw) is not dict:
        return False
    rtype = raw.get("resourceType")
    return type(rtype) is str and _object(raw, rtype, 0, root=True)


_UNKNOWN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def unknown_elements(raw: Any) -> tuple[str, ...] | None:
    """The top-level members of ``raw`` R4B does not define, in their order, when they are all
    the full check would report (it then drops and names each, and reads the rest); ``()`` when
    :func:`conformant`; ``None`` when that is not proven."""
    if type(raw) is not dict:
        return None
    rtype = raw.get("resourceType")
    if type(rtype) is not str:
        return None
    shape = r4.shape(rtype)
    if shape is None:
        return None
    unknown = tuple(key for key in raw if key not in shape.names)
    if not unknown:
        return () if _object(raw, rtype, 0, root=True) else None
    for key in unknown:
        if type(key) is not str or _UNKNOWN_NAME.fullmatch(key) is None:
            return None
        if not _no_modifier_extension(raw[key]):
            return None
    known = {key: value for key, value in raw.items() if key not in unknown}
    return unknown if _object(known, rtype, 0, root=True) else None
