"""A search by a list of system|code tokens goes in the FHIR batch with bare codes, and its
answer is kept to the codings asked for: the service works from the resources the system|code
search finds, no more, no fewer. A server that leaves the bare entry unanswered gets the
system|code search as a GET, and system|code searches in later batches."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from cds_hooks.bare_codes import asked_for, bare_codes
from cds_hooks.models import Card, Source
from cds_hooks.protocol import CallContext
from cds_hooks.registry import PrefetchSpec, Registry, ServiceDefinition
from tests.cds_hooks.echo_service import STAND_IN_KB

FHIR = "https://fhir.example.org/r4"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
TEMPLATE = (
    "Observation?patient={{context.patientId}}"
    f"&code={LOINC}|69548-6,{LOINC}|55201-8,{SNOMED}|277208005&_count=200"
)
EXACT = f"Observation?patient=p1&code={LOINC}|69548-6,{LOINC}|55201-8,{SNOMED}|277208005&_count=200"
BARE = "Observation?patient=p1&code=69548-6,55201-8,277208005&_count=200"
CONDITIONS = {"resourceType": "Bundle", "type": "searchset", "total": 0}
SEEN: list[dict[str, Any]] = []


def _handler(ctx: CallContext) -> list[Card]:
    SEEN.append(dict(ctx.prefetch))
    card = "0b5c0a3e-0000-4000-8000-000000000001"
    return [Card(uuid=card, summary="seen", indicator="info", source=Source(label="echo"))]


def _registry() -> Registry:
    registry = Registry()
    registry.register(
        ServiceDefinition(
            id="coded",
            hook="patient-view",
            title="Coded",
            description="Reports the prefetch it received.",
            usage_requirements="",
            prefetch=(
                PrefetchSpec("conditions", "Condition?patient={{context.patientId}}"),
                PrefetchSpec("observations", TEMPLATE),
            ),
            handler=_handler,
        )
    )
    return registry


def _obs(id_: str, *codings: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": id_, "code": {"coding": list(codings)}}


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _batch_answer(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch-response", "entry": list(entries)}


def _ok(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "response": {"status": "200 OK"}}


@pytest.fixture
def coded(make_app, make_settings):
    app = make_app(make_settings(fhir_allowlist=[FHIR]), registry=_registry(), kb=STAND_IN_KB)
    SEEN.clear()
    with app.test_client() as test_client:
        yield test_client


def _call() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2eb",
        "fhirServer": FHIR,
        "context": {"userId": "Practitioner/example", "patientId": "p1"},
    }


def _batch_urls(call: Any) -> list[str]:
    return [e["request"]["url"] for e in json.loads(call.request.body)["entry"]]


def test_codes_go_bare_and_the_answer_keeps_only_the_codings_asked_for(coded):
    asked = _obs("a", {"system": LOINC, "code": "69548-6"})
    both = _obs(
        "b", {"system": "urn:local", "code": "55201-8"}, {"system": LOINC, "code": "55201-8"}
    )
    other_system = _obs("c", {"system": "urn:local", "code": "69548-6"})
    no_system = _obs("d", {"code": "277208005"})
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "informational"}],
    }
    answer = _searchset(asked, other_system, both, no_system, outcome)
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=_batch_answer(_ok(CONDITIONS), _ok(answer)))
        assert coded.post("/cds-services/coded", json=_call()).status_code == 200
        assert [c.request.method for c in mock.calls] == ["POST"]
        assert _batch_urls(mock.calls[0]) == ["Condition?patient=p1", BARE]
    seen = SEEN[-1]["observations"]
    assert [e["resource"] for e in seen["entry"]] == [asked, both, outcome]


def test_an_unanswered_bare_entry_is_read_with_system_and_code_and_not_offered_again(coded):
    found = _searchset(_obs("a", {"system": LOINC, "code": "69548-6"}))
    refused = {"response": {"status": "400 Bad Request"}}
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=_batch_answer(_ok(CONDITIONS), refused))
        mock.get(f"{FHIR}/{EXACT}", json=found)
        assert coded.post("/cds-services/coded", json=_call()).status_code == 200
        assert [c.request.method for c in mock.calls] == ["POST", "GET"]
        assert _batch_urls(mock.calls[0])[1] == BARE
        mock.calls.reset()
        mock.replace(responses.POST, FHIR, json=_batch_answer(_ok(CONDITIONS), _ok(found)))
        assert coded.post("/cds-services/coded", json=_call()).status_code == 200
        assert [c.request.method for c in mock.calls] == ["POST"]
        assert _batch_urls(mock.calls[0])[1] == EXACT
    assert SEEN[0]["observations"]["entry"] == SEEN[1]["observations"]["entry"] == found["entry"]


@pytest.mark.parametrize(
    "query",
    [
        "Observation?patient=p1&_count=10",  # no code list
        f"Observation?patient=p1&code=69548-6,{LOINC}|55201-8",  # a token without a system
        f"Observation?patient=p1&code={LOINC}|a\\,b",  # an escaped character
        f"Observation?patient=p1&code:not={LOINC}|69548-6",  # a modifier
        f"Observation?code={LOINC}|1&code={LOINC}|2",  # two code parameters (AND)
        f"Observation?patient=p1&code={LOINC}|",  # no code
        "Patient/p1",
    ],
)
def test_searches_other_than_a_plain_list_of_system_code_tokens_are_sent_as_they_are(query):
    assert bare_codes(query) is None


def test_bare_codes_keep_the_other_parameters_and_the_pairs_asked_for():
    sent, pairs = bare_codes(EXACT) or ("", frozenset())
    assert sent == BARE
    assert pairs == {(LOINC, "69548-6"), (LOINC, "55201-8"), (SNOMED, "277208005")}


SYSTEMS = st.sampled_from([LOINC, SNOMED, "urn:local", None, 7])
CODES = st.sampled_from(["1", "2", "3", "x", None])
CODING = st.fixed_dictionaries({}, optional={"system": SYSTEMS, "code": CODES})
RESOURCE = st.one_of(
    st.builds(
        lambda i, codings, typ: {"resourceType": typ, "id": str(i), "code": {"coding": codings}},
        st.integers(0, 99),
        st.lists(st.one_of(CODING, st.just("odd")), max_size=3),
        st.sampled_from(["Observation", "Observation", "OperationOutcome"]),
    ),
    st.just({"resourceType": "Observation", "id": "no-code"}),
    st.just({"resourceType": "Observation", "id": "odd-code", "code": ["1"]}),
)


PAIR = st.tuples(st.sampled_from([LOINC, SNOMED]), st.sampled_from(["1", "2", "x"]))


@given(resources=st.lists(RESOURCE, max_size=8), pairs=st.frozensets(PAIR, min_size=1))
def test_the_bare_answer_kept_to_the_pairs_is_the_system_code_answer(resources, pairs):
    """A server's token search: ``code=C`` finds a resource with a coding of code C (any
    system), ``code=S|C`` one with a coding of system S and code C; other entries (not of the
    searched type) come with either answer."""

    def codings(resource: dict[str, Any]) -> list[Any]:
        concept = resource.get("code")
        found = concept.get("coding") if isinstance(concept, dict) else None
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []

    def search(matches: Any) -> dict[str, Any]:
        return _searchset(
            *(r for r in resources if r["resourceType"] != "Observation" or matches(r))
        )

    codes = {c for _, c in pairs}
    bare = search(lambda r: any(c.get("code") in codes for c in codings(r)))
    exact = search(lambda r: any((c.get("system"), c.get("code")) in pairs for c in codings(r)))
    assert asked_for(bare, "Observation", pairs).get("entry", []) == exact.get("entry", [])
