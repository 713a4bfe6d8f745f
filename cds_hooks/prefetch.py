"""Prefetch resolution: the four states of spec item 34 and the 412 rule of item 36.

For every key the service declared: *absent* and *OperationOutcome* keys are fetched from the
``fhirServer`` (when one is given and allowed); ``null`` means "no data" and is never re-queried;
a resource or searchset Bundle is used as given, with ``Bundle.link[next]`` pages followed.
A required key that cannot be had raises :class:`PrefetchUnavailable` (HTTP 412). Several keys
to fetch go to the server as one FHIR batch when it takes one (:func:`_fetch_all`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import partial
from itertools import pairwise
from typing import Any

from cds_hooks.bare_codes import Pairs, asked_for, bare_codes
from cds_hooks.errors import PrefetchUnavailable
from cds_hooks.fhir_client import FhirClient, FhirUnavailable, next_link
from cds_hooks.registry import PrefetchSpec, render_template
from fhir_mapping.dates import effective_date
from rules.values import PartialDate

log = logging.getLogger(__name__)


class PrefetchState(StrEnum):
    MISSING = "missing"
    NO_DATA = "no-data"
    OUTCOME = "outcome"
    PRESENT = "present"
    INVALID = "invalid"


def classify(prefetch: Mapping[str, Any] | None, key: str) -> PrefetchState:
    if prefetch is None or key not in prefetch:
        return PrefetchState.MISSING
    value = prefetch[key]
    if value is None:
        return PrefetchState.NO_DATA
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return PrefetchState.INVALID
    if value["resourceType"] == "OperationOutcome":
        return PrefetchState.OUTCOME
    if value["resourceType"] == "Bundle" and not isinstance(value.get("entry", []), list):
        return PrefetchState.INVALID
    return PrefetchState.PRESENT


def search_failed(value: Any) -> bool:
    """A searchset Bundle that reports its own failure: an OperationOutcome entry with an
    ``error`` or ``fatal`` issue (a ``warning``, such as "no results", is a search that ran)."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return False
    entries = value.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
            continue
        issues = resource.get("issue")
        for issue in issues if isinstance(issues, list) else ():
            if isinstance(issue, dict) and issue.get("severity") in {"error", "fatal"}:
                return True
    return False


def _entry_date(entry: Any) -> PartialDate | None:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return effective_date(resource) if isinstance(resource, dict) else None


def newest_first_or_complete(value: Any) -> bool:
    """A searchset whose further pages could not be fetched still stands for its search only
    when its first page is newest first (the template's ``_sort=-date`` was honoured): a server
    that ignores the sort may leave the newest results on the pages that were not read."""
    if not isinstance(value, dict) or next_link(value) is None:
        return True
    entries = value.get("entry")
    dates = [d for e in (entries if isinstance(entries, list) else ()) if (d := _entry_date(e))]
    return all(a >= b for a, b in pairwise(dates))


@dataclass(slots=True)
class PrefetchResult:
    """Resolved data per key (``None`` = no data), how each key was obtained, and why each
    unavailable key could not be had (``unavailable``: key -> reason)."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    fetched: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)
    # Optional keys that were simply not sent, with no FHIR server to ask: routine (most
    # clients omit them), so told once in the access line rather than a warning each.
    quiet: list[str] = field(default_factory=list)


def resolve(
    specs: tuple[PrefetchSpec, ...],
    prefetch: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    client: FhirClient | None,
    executor: Executor | None = None,
    as_of: date | None = None,
) -> PrefetchResult:
    result = PrefetchResult()
    to_fetch: list[tuple[PrefetchSpec, str]] = []
    for spec in specs:
        state = classify(prefetch, spec.key)
        if state is PrefetchState.NO_DATA:
            result.data[spec.key] = None
            result.sources[spec.key] = "prefetch-null"
            continue
        if state is PrefetchState.PRESENT:
            value = prefetch[spec.key]  # type: ignore[index]
            if value.get("resourceType") == "Bundle" and next_link(value) is not None:
                if client is None:
                    _unavailable(result, spec, "paged-without-server")
                    result.data[spec.key] = value
                    result.sources[spec.key] = "prefetch-partial"
                    continue
                try:
                    value = client.complete_pages(value)
                except FhirUnavailable as exc:
                    _unavailable(result, spec, exc.reason)
                    result.sources[spec.key] = "prefetch-partial"
                    result.data[spec.key] = value
                    continue
                result.sources[spec.key] = "prefetch-paged"
            else:
                result.sources[spec.key] = "prefetch"
            result.data[spec.key] = value
            continue
        # MISSING, OUTCOME (the client failed to prefetch) or INVALID: fetch it ourselves.
        if not spec.fetch_if_missing and not spec.required:
            result.sources[spec.key] = "not-requested"
            continue
        if client is None:
            _unavailable(
                result,
                spec,
                f"{state.value}-and-no-usable-fhir-server",
                routine=state is PrefetchState.MISSING,
            )
            result.sources[spec.key] = "unavailable"
            continue
        query = render_template(spec.template, context)
        if query is None:
            _unavailable(result, spec, "template-token-without-value")
            result.sources[spec.key] = "unavailable"
            continue
        if spec.fetch_since_days is not None and as_of is not None and "?" in query:
            # Bounded by date and read to the last page, the service's own search needs no
            # order: without `_sort` a server that does not support it (400) still answers.
            query = _without_sort(query)
            query += f"&date=ge{(as_of - timedelta(days=spec.fetch_since_days)).isoformat()}"
        to_fetch.append((spec, query))
    if not to_fetch:
        return result
    assert client is not None
    outcomes = _fetch_all(client, [query for _, query in to_fetch], executor)
    for (spec, query), outcome in zip(to_fetch, outcomes, strict=True):
        if isinstance(outcome, FhirUnavailable):
            if outcome.reason == "http-404" and "?" not in query:
                result.data[spec.key] = None  # a read of a resource that does not exist
                result.sources[spec.key] = "fetched-not-found"
                continue
            _unavailable(result, spec, outcome.reason)
            result.sources[spec.key] = "unavailable"
            continue
        result.data[spec.key] = outcome
        result.sources[spec.key] = "fetched"
        result.fetched += 1
    return result


def _without_sort(query: str) -> str:
    path, _, params = query.partition("?")
    kept = [p for p in params.split("&") if not p.startswith("_sort=")]
    return f"{path}?{'&'.join(kept)}"


Outcome = dict[str, Any] | FhirUnavailable


def _fetch_all(client: FhirClient, queries: list[str], executor: Executor | None) -> list[Outcome]:
    """Each query's resource (a search: every page merged into one Bundle) or why not.

    Several keys go to the server as one FHIR batch when it takes one (one request for it to
    handle rather than one per key); an entry it did not answer, or every key when it did not
    take the batch, is read with its own GET, exactly as without a batch. The remaining reads
    (those GETs, and the ``next`` pages of searches) are independent: they run concurrently,
    so that the wait is the slowest of them rather than the sum; each keeps its own time
    budget."""
    bare: list[tuple[str, Pairs] | None] = [None] * len(queries)
    firsts = None
    if len(queries) > 1:
        # Searches by a list of system|code tokens go in the batch as bare codes, and their
        # answer is kept to the codings asked for (cds_hooks.bare_codes): the same resources.
        allowed = client.bare_codes_allowed()
        bare = [bare_codes(query) if allowed else None for query in queries]
        firsts = client.batch([b[0] if b else q for q, b in zip(queries, bare, strict=True)])
    jobs: list[tuple[Callable[[], Outcome], bool]] = []  # (job, whether it waits on the server)
    for i, query in enumerate(queries):
        first = firsts[i] if firsts is not None else None
        if first is None:
            if firsts is not None and bare[i] is not None:
                client.refuse_bare_codes()  # and the GET below asks with system|code
            jobs.append((partial(_fetch, client, query), True))
        elif "?" not in query:
            jobs.append((partial(_as_is, first), False))
        else:
            asked = bare[i]
            job = partial(
                _complete, client, first, query.partition("?")[0], asked[1] if asked else None
            )
            jobs.append((job, next_link(first) is not None))
    if executor is not None and sum(waits for _, waits in jobs) > 1:
        pending = {i: executor.submit(job) for i, (job, waits) in enumerate(jobs) if waits}
        return [pending[i].result() if i in pending else job() for i, (job, _) in enumerate(jobs)]
    return [job() for job, _ in jobs]


def _as_is(resource: dict[str, Any]) -> Outcome:
    return resource


def _complete(
    client: FhirClient, first: dict[str, Any], resource_type: str, pairs: Pairs | None
) -> Outcome:
    """A search's first page from the batch, with its ``next`` pages (if any) read and merged
    into one Bundle, as :meth:`FhirClient.search` gives it; sent with bare codes, kept to the
    ``(system, code)`` ``pairs`` it asked for."""
    try:
        merged = client.complete_pages(first)
    except FhirUnavailable as exc:
        return exc
    return asked_for(merged, resource_type, pairs) if pairs else merged


def _fetch(client: FhirClient, query: str) -> Outcome:
    try:
        return client.search(query) if "?" in query else client.read(query)
    except FhirUnavailable as exc:
        return exc


def _unavailable(
    result: PrefetchResult, spec: PrefetchSpec, reason: str, routine: bool = False
) -> None:
    result.unavailable[spec.key] = reason
    if routine and not spec.required:
        result.quiet.append(spec.key)
        return
    if spec.required:  # a 412: no access-line fields, so the quiet keys are warned here
        for key in result.quiet:
            log.warning(
                "prefetch_unavailable key=%s reason=%s required=False",
                key,
                result.unavailable[key],
            )
    log.warning(
        "prefetch_unavailable key=%s reason=%s required=%s", spec.key, reason, spec.required
    )
    if spec.required:
        raise PrefetchUnavailable(
            f"Prefetch key '{spec.key}' was not provided and could not be fetched "
            f"from the FHIR server ({reason}).",
            expression=f"prefetch.{spec.key}",
        )
