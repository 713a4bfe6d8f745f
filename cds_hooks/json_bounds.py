"""Bounded JSON parsing of request bodies: size, nesting depth, string length, items per array
or object, and the total number of values.

The work a request may cause is bounded before any of it is spent walking or validating the
parsed value. orjson parses at C speed; the structural checks run on the raw bytes with
``bytes.translate`` / ``replace`` / ``split`` and one regular expression per nesting level, so
their cost is linear in the body size and small next to the parse itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from cds_hooks.errors import InvalidJson, PayloadTooLarge


@dataclass(frozen=True, slots=True)
class JsonLimits:
    max_bytes: int
    max_depth: int
    max_string_length: int
    max_items: int
    max_values: int


@dataclass(frozen=True, slots=True)
class Shape:
    """What the byte-level scan saw.

    ``depth`` is capped at the depth limit plus one; ``max_items`` counts the members of the
    largest array or object (an empty container counts as 1); ``values`` is
    ``1 + sum(max(len(container), 1))`` over all containers: every value once, every empty
    container once more.
    """

    depth: int
    max_items: int
    values: int


def parse_json(raw: bytes, limits: JsonLimits) -> Any:
    """Parse ``raw`` within ``limits``; a body outside them raises a typed 400 (413 for size)."""
    if len(raw) > limits.max_bytes:
        raise PayloadTooLarge()
    try:
        # orjson: a strict RFC 8259 parser (no NaN/Infinity, UTF-8 only) about twice as fast as
        # the standard library on FHIR-heavy bodies; it refuses nesting beyond 1024 levels.
        value = orjson.loads(raw)
    except RecursionError:
        raise InvalidJson("The request body nests deeper than this service accepts.") from None
    except (orjson.JSONDecodeError, ValueError, UnicodeDecodeError):
        raise InvalidJson() from None
    if len(raw) > limits.max_string_length and longest_json_string(raw) > (
        limits.max_string_length
    ):
        raise InvalidJson("A JSON string is longer than this service accepts.")
    if within(raw, limits):
        return value
    shape = measure(raw, limits.max_depth, limits.max_items)
    if shape.depth > limits.max_depth:
        raise InvalidJson("The request body nests deeper than this service accepts.")
    if shape.max_items > limits.max_items:
        raise InvalidJson(
            f"A JSON array or object holds more than {limits.max_items} items, "
            "more than this service accepts."
        )
    if shape.values > limits.max_values:
        raise InvalidJson(
            f"The request body holds more than {limits.max_values} JSON values, "
            "more than this service accepts."
        )
    return value


# Byte-level checks on a body the parser has already accepted as valid JSON.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'{}[]",')
# Valid JSON nests its brackets properly, so objects and arrays can be counted as one kind.
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")
# An innermost container of the skeleton: its own commas only.
_INNERMOST = re.compile(rb"\[,*\]")


def _unescape_quotes(raw: bytes) -> bytes:
    """Drop escape sequences so that every remaining quote delimits a string."""
    if b"\\" not in raw:
        return raw
    return raw.replace(b"\\\\", b"").replace(b'\\"', b"")


def _skeleton(raw: bytes) -> bytes:
    """Brackets and commas outside strings, braces written as brackets."""
    skeleton = _unescape_quotes(raw).translate(_ONE_BRACKET_KIND, _NOT_STRUCTURE)
    # Empty strings go first (most strings hold no bracket or comma); removing two adjacent
    # quotes never changes which of the remaining characters are inside a string.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])
    return skeleton


def measure(raw: bytes, max_depth: int, max_items: int | None = None) -> Shape:
    """Depth, largest container and value count of valid JSON ``raw``.

    Each pass removes the innermost level of containers (a removed container leaves its
    place between its parent's commas, so the parent's item count is unchanged). The scan
    stops after ``max_depth + 1`` levels, or as soon as a container exceeds ``max_items``.
    """
    skeleton = _skeleton(raw)
    values = 1 + skeleton.count(b",") + skeleton.count(b"[")
    depth = 0
    largest = 0
    while skeleton and depth <= max_depth:
        inner = _INNERMOST.findall(skeleton)
        if not inner:  # unbalanced: cannot happen for valid JSON
            return Shape(max_depth + 1, largest, values)
        largest = max(largest, max(map(len, inner)) - 1)
        depth += 1
        if max_items is not None and largest > max_items:
            break
        skeleton = _INNERMOST.sub(b"", skeleton)
    return Shape(depth, largest, values)


def within(raw: bytes, limits: JsonLimits) -> bool:
    """True when valid JSON ``raw`` is within the depth, items and values limits: the same
    verdict as :func:`measure`, several times cheaper on the bodies hook calls carry (False
    sends :func:`parse_json` to :func:`measure`, which says which limit is exceeded).

    A container holds at most ``values - 1`` items, so below that no container is counted.
    Otherwise a container with more than ``max_items`` items shows, once its children are
    removed, as a run of at least ``max_items`` commas (and such a run only occurs inside one
    container), so a substring test per level replaces the per-container counts. The depth is
    the number of levels removed before the skeleton is empty; with the commas gone, a level
    is removed by ``bytes.replace``.
    """
    skeleton = _skeleton(raw)
    values = 1 + skeleton.count(b",") + skeleton.count(b"[")
    if values > limits.max_values:
        return False
    if values - 1 <= limits.max_items:
        brackets = skeleton.replace(b",", b"")
        for _ in range(limits.max_depth):
            if not brackets:
                return True
            brackets = brackets.replace(b"[]", b"")
        return not brackets
    long_run = b"," * limits.max_items
    for _ in range(limits.max_depth):
        if not skeleton:
            return True
        if long_run in skeleton:
            return False
        skeleton = _INNERMOST.sub(b"", skeleton)
    return not skeleton


def json_depth_exceeds(raw: bytes, max_depth: int) -> bool:
    """True when containers nest deeper than ``max_depth`` (brackets inside strings ignored)."""
    return measure(raw, max_depth).depth > max_depth


def longest_json_string(raw: bytes) -> int:
    """Length in bytes of the longest string (member names included), escapes collapsed."""
    strings = _unescape_quotes(raw).split(b'"')[1::2]
    return max(map(len, strings), default=0)
