"""The population search the service runs itself is bounded by date; the client's copy of the
template is not (CDS Hooks 2.0 templates have no relative dates)."""

from __future__ import annotations

from datetime import date
from typing import Any

from cds_hooks.fhir_client import FhirUnavailable
from cds_hooks.prefetch import resolve
from cds_hooks.services.sarcoma import POPULATION_LOOKBACK_DAYS, POPULATIONS_KEY, PREFETCH


class RecordingClient:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str) -> dict[str, Any]:
        self.queries.append(query)
        return {"resourceType": "Bundle", "type": "searchset"}

    def read(self, query: str) -> dict[str, Any]:
        self.queries.append(query)
        return {"resourceType": "Patient", "id": "p1"}

    def batch(self, queries: list[str]) -> None:
        return None  # a server that takes no batch: every key is read with its own GET

    def bare_codes_allowed(self) -> bool:
        return True  # offered, but the batch is not taken: the GETs ask with system|code

    def refuse_bare_codes(self) -> None:
        raise AssertionError("no batch entry was left unanswered")


def test_own_population_search_asks_only_for_the_last_366_days():
    client = RecordingClient()
    result = resolve(PREFETCH, {}, {"patientId": "p1"}, client, as_of=date(2026, 11, 30))  # type: ignore[arg-type]
    (query,) = [q for q in client.queries if "82810-3" in q]
    assert POPULATION_LOOKBACK_DAYS == 366
    assert query.endswith("&_count=100&date=ge2025-11-29")
    assert "_sort" not in query  # bounded and paged to the end: no order needed
    assert result.sources[POPULATIONS_KEY] == "fetched"
    # The other searches keep no date bound: a genomic result from years ago still counts.
    assert not [q for q in client.queries if "date=ge" in q and "82810-3" not in q]


def test_prefetched_population_key_is_used_as_sent():
    client = RecordingClient()
    sent = {"resourceType": "Bundle", "type": "searchset"}
    result = resolve(PREFETCH, {POPULATIONS_KEY: sent}, {"patientId": "p1"}, client)  # type: ignore[arg-type]
    assert result.data[POPULATIONS_KEY] is sent
    assert not [q for q in client.queries if "82810-3" in q]


class NoSortServer(RecordingClient):
    """A server that rejects `_sort` (400), as servers without sort support may."""

    def search(self, query: str) -> dict[str, Any]:
        if "_sort=" in query:
            self.queries.append(query)
            raise FhirUnavailable("http-400")
        return super().search(query)


def test_own_population_search_does_not_depend_on_sort_support():
    """The service bounds its own search by date and follows every page, so the order is not
    needed: a server that rejects `_sort` still answers the population search."""
    client = NoSortServer()
    result = resolve(PREFETCH, {}, {"patientId": "p1"}, client, as_of=date(2026, 11, 30))  # type: ignore[arg-type]
    assert result.sources[POPULATIONS_KEY] == "fetched"
    (query,) = [q for q in client.queries if "82810-3" in q]
    assert "_sort" not in query and query.endswith("&_count=100&date=ge2025-11-29")
