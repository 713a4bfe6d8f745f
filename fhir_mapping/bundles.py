"""Collect resources from prefetch values and the hook context; de-duplicate by (type, id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_mapping.codes import as_dict, as_list, as_str, reference_of
from fhir_mapping.issues import MappingIssue

_MAX_DEPTH = 3


@dataclass
class Collected:
    """Raw resources to map, in input order, plus a reference index for resolution."""

    resources: list[Mapping[str, Any]] = field(default_factory=list)
    drafts: list[Mapping[str, Any]] = field(default_factory=list)
    issues: list[MappingIssue] = field(default_factory=list)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)
    _index: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Bundle entries kept by :func:`_add_entries` whose index entries are not written yet,
    #: as runs ``(entries, start, end)``: ``entries[start:end]`` were all kept there (their
    #: resource is a dict with a string type and id; the input is never modified).
    #: References are resolved for few resources (a medicationReference), so the index is
    #: written on first use, in the same order.
    _pending: list[tuple[list[Any], int, int]] = field(default_factory=list)
    #: The draft orders' index, merged under this one (never shadowing it) on first use.
    _drafts_index: dict[str, Mapping[str, Any]] | None = None

    @property
    def index(self) -> dict[str, Mapping[str, Any]]:
        """``Type/id`` and fullUrl -> resource (the later of two versions of one resource;
        the first resource of a fullUrl)."""
        if self._pending:
            index = self._index
            for entries, start, end in self._pending:
                for entry in entries[start:end]:
                    resource = entry["resource"]
                    index[f"{resource['resourceType']}/{resource['id']}"] = resource
                    url = _full_url(entry)
                    if url:
                        index.setdefault(url, resource)
            self._pending.clear()
        if self._drafts_index is not None:
            for ref, resource in self._drafts_index.items():
                self._index.setdefault(ref, resource)
            self._drafts_index = None
        return self._index

    def resolve(self, reference: str) -> Mapping[str, Any] | None:
        """Resolve ``Type/id``, an absolute URL ending in ``Type/id`` or a ``urn:uuid:``."""
        if reference in self.index:
            return self.index[reference]
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2:
            tail = f"{parts[-2]}/{parts[-1]}"
            if tail in self.index:
                return self.index[tail]
            if len(parts) >= 4 and parts[-2] == "_history":
                tail = f"{parts[-4]}/{parts[-3]}"
                return self.index.get(tail)
        return None


def _later(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True if ``b`` claims a later meta.lastUpdated than ``a``."""
    a_updated = as_str(as_dict(a.get("meta")).get("lastUpdated")) or ""
    b_updated = as_str(as_dict(b.get("meta")).get("lastUpdated")) or ""
    return b_updated > a_updated


def _add(
    collected: Collected,
    target: list[Mapping[str, Any]],
    resource: Any,
    full_url: str | None,
    origin: str,
    depth: int,
) -> None:
    # Hot path (once per prefetched resource): plain isinstance/str checks, the reference text
    # is only built when an issue needs it.
    if not (type(resource) is dict or isinstance(resource, Mapping)):
        collected.issues.append(
            MappingIssue("invalid-resource", origin, "entry is not a JSON object; skipped")
        )
        return
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype.strip():
        rtype = None
    if rtype == "Bundle":
        ref = reference_of(resource)
        if depth >= _MAX_DEPTH:
            collected.issues.append(
                MappingIssue("invalid-resource", ref, "Bundle nested too deeply; skipped")
            )
            return
        entries = resource.get("entry")
        if isinstance(entries, list):
            _add_entries(collected, target, entries, ref, depth + 1)
        return
    if rtype == "OperationOutcome":
        collected.issues.append(
            MappingIssue(
                "operation-outcome-in-prefetch",
                reference_of(resource),
                f"an OperationOutcome was received in {origin} instead of data; skipped",
            )
        )
        return
    rid = resource.get("id")
    if rtype and isinstance(rid, str) and rid.strip():
        key = (rtype, rid)
        seen = collected._seen
        if key in seen:
            position = seen[key]
            existing = target[position] if position < len(target) else None
            if existing is not None and existing != resource:
                collected.issues.append(
                    MappingIssue(
                        "duplicate-resource",
                        reference_of(resource),
                        "received more than once with different content; kept the version "
                        "with the latest meta.lastUpdated (first if equal)",
                    )
                )
                if _later(existing, resource):
                    target[position] = resource
                    collected.index[f"{rtype}/{rid}"] = resource
            return
        seen[key] = len(target)
        collected.index[f"{rtype}/{rid}"] = resource
    if full_url:
        collected.index.setdefault(full_url, resource)
    target.append(resource)


#: Resource types :func:`_add` does more with than keep them.
_NOT_KEPT_AS_IS = frozenset({"Bundle", "OperationOutcome"})
#: Types of most entries, kept as is (none blank, none in :data:`_NOT_KEPT_AS_IS`): one set
#: lookup instead of two tests.
_PLAIN_TYPES = frozenset(
    {
        "Observation",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "Procedure",
        "DiagnosticReport",
        "Specimen",
        "AllergyIntolerance",
        "Patient",
    }
)


def _full_url(entry: Mapping[str, Any]) -> str | None:
    url = entry.get("fullUrl")
    return url if isinstance(url, str) and url.strip() else None


def _add_entry(
    collected: Collected,
    target: list[Mapping[str, Any]],
    entry: Any,
    origin: str,
    depth: int,
) -> None:
    """:func:`_add` for one Bundle entry's resource."""
    if not (type(entry) is dict or isinstance(entry, Mapping)):
        return  # an entry without a resource
    inner = entry.get("resource")
    if inner is not None:
        _add(collected, target, inner, _full_url(entry), origin, depth)


def _add_entries(
    collected: Collected,
    target: list[Mapping[str, Any]],
    entries: list[Any],
    origin: str,
    depth: int,
) -> None:
    """:func:`_add_entry` for each entry. The common entry (a JSON object with a type and an
    id not seen before) is kept right here, as ``_add`` would keep it, its index entries
    written later (:attr:`Collected.index`): a searchset of a year-long record has hundreds of
    them, so this is written with subscripts rather than calls."""
    seen, pending = collected._seen, collected._pending
    # The current run of kept entries starts at entries[start], when target held `before`:
    # each entry of a run adds one resource, so it ends at start + len(target) - before.
    start, before = 0, len(target)
    for entry in entries:
        try:
            inner = entry["resource"]
            rtype, rid = inner["resourceType"], inner["id"]
            if (
                (
                    rtype in _PLAIN_TYPES
                    or (type(rtype) is str and rtype not in _NOT_KEPT_AS_IS and rtype.strip())
                )
                and type(inner) is dict
                and type(rid) is str
                and rid.strip()
            ):
                # Not seen before: the key is new (a position kept is below len(target)).
                position = len(target)
                if seen.setdefault((rtype, rid), position) == position:
                    target.append(inner)
                    continue
        except (LookupError, TypeError):
            pass  # no resource, or not a JSON object with a type and an id
        here = start + len(target) - before  # this entry's place: the run ends before it
        if here > start:
            pending.append((entries, start, here))  # (before _add may read the index)
        _add_entry(collected, target, entry, origin, depth)
        start, before = here + 1, len(target)
    end = start + len(target) - before
    if end > start:
        pending.append((entries, start, end))


def collect(prefetch: Mapping[str, Any], context: Mapping[str, Any]) -> Collected:
    collected = Collected()
    for key, value in prefetch.items():
        origin = f"prefetch[{key}]"
        if value is None:
            continue
        if not isinstance(value, Mapping):
            collected.issues.append(
                MappingIssue("invalid-resource", origin, "prefetch value is not a JSON object")
            )
            continue
        _add(collected, collected.resources, value, None, origin, 0)

    drafts = Collected()
    draft_orders = context.get("draftOrders")
    if isinstance(draft_orders, Mapping):
        _add(drafts, drafts.resources, draft_orders, None, "context.draftOrders", 0)
    elif draft_orders is not None:
        collected.issues.append(
            MappingIssue("invalid-resource", "context.draftOrders", "draftOrders is not a Bundle")
        )
    collected.drafts = drafts.resources
    collected.issues.extend(drafts.issues)
    # Draft orders are resolvable too (e.g. a Medication in the draft bundle), but never
    # shadow the prefetch copy of a resource (merged when the index is first used).
    collected._drafts_index = drafts.index
    return collected


def selections(context: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(s.strip() for s in as_list(context.get("selections")) if as_str(s))
