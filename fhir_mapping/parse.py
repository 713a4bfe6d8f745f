"""dict -> checked raw resource, one at a time (architecture S7).

Read liberally, element by element: a non-conformant element that no rule needs (the Sandbox's
``category`` object, a malformed dose) is dropped and reported as a mapping issue naming the
element, and the rest of the resource is read. A resource whose *needed* elements are
non-conformant (what was ordered, its status, whose it is), or that carries a
``modifierExtension`` or looks like another FHIR version, becomes a :class:`MappingIssue` and is
skipped. Elements R4B does not know are dropped and reported. The mapping reads the cleaned dict
afterwards. Which elements are needed, and how a non-conformance is worded, is
:mod:`fhir_mapping.conformance`.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from fhir_mapping import prune
from fhir_mapping.codes import as_str, reference_of
from fhir_mapping.conformance import describe, path_text
from fhir_mapping.issues import MappingIssue
from fhir_mapping.judge import CONFORMANT, Verdict, cleaned_copy, judge
from fhir_mapping.shared_memo import TextKeys

#: Resource types that only exist in other FHIR versions.
OTHER_VERSION_TYPES = frozenset({"MedicationOrder", "DiagnosticOrder", "GenomicStudy"})

#: Top-level elements that identify a resource of another FHIR version (R5 or STU3).
OTHER_VERSION_ELEMENTS: dict[str, frozenset[str]] = {
    "MedicationRequest": frozenset(
        {"medication", "renderedDosageInstruction", "statusChanged", "informationSource"}
        | {"definition", "context"}
    ),
    "MedicationStatement": frozenset({"medication", "adherence", "taken"}),
    "Observation": frozenset({"triggeredBy", "instantiatesCanonical", "bodyStructure", "context"}),
    "Condition": frozenset({"participant", "assertedDate"}),
}


def other_version(raw: Mapping[str, Any]) -> MappingIssue | None:
    """A ``wrong-fhir-version`` issue if ``raw`` looks like a non-R4 resource (cheap check)."""
    rtype = raw.get("resourceType")
    if type(rtype) is str and rtype not in OTHER_VERSION_TYPES:
        # The common case, decided without as_str (a blank type has no markers either).
        markers_of_type = OTHER_VERSION_ELEMENTS.get(rtype)
        if markers_of_type is None or raw.keys().isdisjoint(markers_of_type):
            return None
    rtype = as_str(rtype) or ""
    markers_of_type = OTHER_VERSION_ELEMENTS.get(rtype)
    if rtype not in OTHER_VERSION_TYPES and (
        markers_of_type is None or markers_of_type.isdisjoint(raw.keys())
    ):
        return None  # the common case, decided without building the reference
    ref = reference_of(raw)
    if rtype in OTHER_VERSION_TYPES:
        return MappingIssue(
            "wrong-fhir-version", ref, f"{rtype} is not an R4 resource type; skipped"
        )
    markers = sorted(OTHER_VERSION_ELEMENTS.get(rtype, frozenset()) & raw.keys())
    if markers:
        return MappingIssue(
            "wrong-fhir-version",
            ref,
            f"elements {', '.join(markers)} belong to another FHIR version; skipped",
        )
    return None


class VerdictCache:
    """Bounded per-process LRU of :class:`Verdict` values keyed by a keyed hash of a resource.

    Why: after the pre-filter, validating the ~16 resources of a typical order-sign prefetch
    with fhir.resources still costs ~4 ms (~330 us for a genomic Observation), while the EHR
    re-sends the same resources on every hook call for the same patient. Fingerprinting a
    resource costs ~5 us (measured with ``bench/profile_mapping.py``), so a hit is ~60x cheaper
    than validating again.

    The key is a pair of 64-bit keyed hashes of the JSON text of the resource
    (:class:`fhir_mapping.shared_memo.TextKeys`): Python's own ``hash`` of the text prefixed
    with one, then another, 16 random bytes drawn by this process (``hash`` of bytes is
    SipHash-1-3 keyed with the interpreter's per-process random key, the hash designed against
    hash flooding; the secret prefixes keep the pair unpredictable from outside even when
    ``PYTHONHASHSEED`` fixes that key). 128 bits: two texts share a key by accident with odds of
    ~2^-128 per pair, and a text that collides with another cannot be made without the secrets,
    which never leave the process. It costs about half of the keyed BLAKE2b used before
    (callgrind: ~10 against ~21 thousand instructions for a 1 kB text), once per resource read.
    The JSON text is written by orjson at C speed (~2 us for a resource, about a quarter of
    ``pickle.dumps``). JSON text keeps key order (which fixes the order of the reported issues,
    so a hit reproduces exactly what a miss would report) and tells ``1`` from ``1.0``, ``"1"``
    and ``True``; it cannot tell a tuple from a list, so on a miss the verdict is computed on
    the JSON form itself (``orjson.loads`` of the same text): the verdict is a pure function of
    the text the key is derived from. A resource orjson cannot write (a non-string key, an
    integer beyond 64 bits, an odd object) is keyed by its pickle instead, under two other
    prefixes; one that cannot be pickled either is checked without the cache. The bytes are
    hashed and dropped. The random prefixes make keys meaningless outside this process.

    Each entry also records whether the text was found under the bulk thresholds of
    :func:`fhir_mapping.prune.is_bulky` (a pure function of the same text): a resource seen
    before is then not counted again (~13 thousand instructions for a 1 kB text).

    No patient data is stored: the cache holds pairs of integers and :class:`Verdict` values
    (booleans, element paths such as ``("component", 0, "foo")`` and pydantic error types).
    References and messages are rebuilt from the resource at each call. A resource that cannot
    be pickled is simply checked without the cache.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        #: Keys for JSON texts and, apart, for pickles.
        self._keys = {True: TextKeys(), False: TextKeys()}
        self._json_keys = self._keys[True]
        #: key -> (verdict, whether the text is known to be under the bulk thresholds)
        self._entries: OrderedDict[tuple[int, int], tuple[Verdict, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _text(self, raw: Mapping[str, Any]) -> tuple[bytes | None, bool]:
        """The bytes the key is derived from, and whether they are JSON text."""
        try:
            return orjson.dumps(raw), True
        except (TypeError, orjson.JSONEncodeError):
            pass
        try:
            return pickle.dumps(raw, protocol=5), False
        except Exception:
            return None, False

    def _digest(self, data: bytes, is_json: bool) -> tuple[int, int]:
        return self._keys[is_json](data)

    def key(self, raw: Mapping[str, Any]) -> tuple[int, int] | None:
        data, is_json = self._text(raw)
        if data is None:
            return None
        return self._digest(data, is_json)

    def known_small(self, json_text: bytes) -> tuple[tuple[int, int], Verdict | None]:
        """The key of a resource whose JSON text (``orjson.dumps``) is ``json_text``, and the
        verdict stored under it (a hit) if that text is known to be under the bulk thresholds
        of :func:`fhir_mapping.prune.is_bulky` (a pure function of the text, so the caller
        need not count its braces again); else ``None`` (not counted). One call per resource
        read."""
        keys = self._json_keys  # TextKeys.__call__, written out: one call fewer per resource
        key = hash(keys.first + json_text), hash(keys.second + json_text)
        # acquire/release rather than ``with``: the same lock, without the context-manager
        # protocol's two method look-ups and calls (a third of this method's own cost).
        lock = self._lock
        lock.acquire()
        try:
            found = self._entries.get(key)
            if found is None or not found[1]:
                return key, None
            self._entries.move_to_end(key)
            self.hits += 1
            return key, found[0]
        finally:
            lock.release()

    def verdict(
        self,
        raw: Mapping[str, Any],
        json_text: bytes | None = None,
        *,
        small: bool = False,
        key: tuple[int, int] | None = None,
    ) -> Verdict:
        """``json_text``: ``orjson.dumps(raw)`` when the caller has it already (``key``: its
        :meth:`text_key`); ``small``: the caller found that text under the bulk thresholds."""
        if json_text is not None:
            data: bytes | None = json_text
            is_json = True
        else:
            data, is_json = self._text(raw)
        if data is None:
            return judge(raw)
        if key is None or not is_json:
            key = self._digest(data, is_json)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                if small and not found[1]:
                    self._entries[key] = (found[0], True)
                return found[0]
        verdict = judge(orjson.loads(data) if is_json else raw)
        with self._lock:
            self.misses += 1
            self._entries[key] = (verdict, small)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return verdict

    def values(self) -> list[Verdict]:
        with self._lock:
            return [verdict for verdict, _small in self._entries.values()]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


#: The process-wide cache used by :func:`check_resource`.
VERDICTS = VerdictCache()


def check_resource(
    raw: Mapping[str, Any], *, ref: str | None = None, version_checked: bool = False
) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
    """Return a cleaned copy of ``raw`` ready to map, or ``None``, plus the issues found.

    ``ref``: ``reference_of(raw)`` when the caller has it; ``version_checked``: the caller
    has found ``other_version(raw)`` to be ``None`` already (the medication path).

    The common case (a resource seen before, with nothing to report) is decided with one call
    (:meth:`VerdictCache.known_small`) after the JSON text is written: the type and version
    tests are inlined and the reference is only built when an issue needs it."""
    rtype = raw.get("resourceType")
    if not (type(rtype) is str or isinstance(rtype, str)) or not rtype.strip():
        return None, [
            MappingIssue(
                "invalid-resource",
                reference_of(raw) if ref is None else ref,
                "resource without resourceType",
            )
        ]
    if not (
        version_checked
        or (
            type(rtype) is str
            and rtype not in OTHER_VERSION_TYPES
            and (
                (markers := OTHER_VERSION_ELEMENTS.get(rtype)) is None
                or raw.keys().isdisjoint(markers)
            )
        )
    ):
        # (other_version's common case, inlined above)
        version_issue = other_version(raw)
        if version_issue is not None:
            return None, [version_issue]
    try:
        # Written once: the bulk test and the verdict's key both read it.
        json_text: bytes | None = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        json_text = None
    if json_text is None:
        return _check(raw, reference_of(raw) if ref is None else ref, VERDICTS.verdict(raw))
    # A resource seen before (the EHR re-sends the same ones call after call): its verdict,
    # and that its text is under the bulk thresholds, without counting its braces again.
    key, known = VERDICTS.known_small(json_text)
    if known is CONFORMANT:
        return dict(raw), []  # what _check makes of it, without the call
    if ref is None:
        ref = reference_of(raw)
    if known is not None:
        return _check(raw, ref, known)
    if not prune.is_bulky(json_text):
        return _check(raw, ref, VERDICTS.verdict(raw, json_text, small=True, key=key))
    projection = prune.project(raw)
    if projection.resource is not raw:
        cleaned, issues = _check(projection.resource, ref, VERDICTS.verdict(projection.resource))
        if cleaned is not None:
            issues.extend(prune.truncation_issues(ref, projection.truncated))
        return cleaned, issues
    return _check(raw, ref, VERDICTS.verdict(raw, json_text, key=key))


def _check(
    raw: Mapping[str, Any], ref: str, verdict: Verdict
) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
    if verdict.modifier_extension or verdict.validation is None:
        return None, [
            MappingIssue(
                "modifier-extension",
                ref,
                "carries a modifierExtension that may change its meaning; skipped",
            )
        ]
    result = verdict.validation
    if verdict.fatal:
        path, error_type = verdict.fatal[0]
        more = len(verdict.fatal) - 1
        suffix = f" (+{more} more)" if more else ""
        return None, [
            MappingIssue(
                "invalid-resource",
                ref,
                f"failed R4 validation: {describe(raw, path, error_type)}{suffix}; skipped",
            )
        ]
    if not result.unknown and not verdict.dropped:
        return dict(raw), []
    cleaned = cleaned_copy(raw, result.unknown, verdict.dropped)
    issues = [
        MappingIssue(
            "unknown-element-dropped",
            ref,
            f"element {path_text(path)} is not defined in FHIR R4; dropped",
        )
        for path in result.unknown
    ]
    issues += [
        MappingIssue(
            "non-conformant-element",
            ref,
            f"{describe(raw, path, error_type)}; {path[0]} ignored, the rest was read",
        )
        for path, error_type in result.errors
    ]
    if not verdict.still_valid:
        return None, [
            *issues,
            MappingIssue(
                "invalid-resource", ref, "still invalid after dropping the elements above; skipped"
            ),
        ]
    return cleaned, issues
