"""The cheap reader vouches for a Condition only when R4B validation finds nothing.

Differential tests against the fhir.resources path (:func:`fhir_mapping.judge.full_judge`): on
the Conditions of the fixtures and the scenario builders, on generated Conditions and on
mutations of both (a wrong type, a null, an empty value, an unknown or removed member, a
modifierExtension at any node), whenever :func:`cheap_reader.conformant` says ``True`` the full
check's verdict is "nothing to report". And the point of it: a body of thousands of distinct,
conformant Conditions is read without one R4B validation (before: one or two each, ~0.5 ms).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mapping import cheap_reader, judge, map_prefetch, parse, r4
from tests.fhir_mapping.hostile_bodies import many_conditions_body
from tests.scenarios import builders

FIXTURES = Path(__file__).parents[1] / "fixtures"


def resources_of(
    node: Any, resource_type: str, out: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every resource of ``resource_type`` anywhere in a JSON tree, in document order."""
    out = [] if out is None else out
    if isinstance(node, dict):
        if node.get("resourceType") == resource_type:
            out.append(node)
        for value in node.values():
            resources_of(value, resource_type, out)
    elif isinstance(node, list):
        for value in node:
            resources_of(value, resource_type, out)
    return out


def fixture_resources(resource_type: str) -> list[dict[str, Any]]:
    """Every resource of ``resource_type`` in the test fixtures (tests/fixtures/**/*.json)."""
    found: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        resources_of(json.loads(path.read_text()), resource_type, found)
    return found


def _corpus() -> list[dict[str, Any]]:
    found = fixture_resources("Condition")
    found += [builders.condition(h) for h in sorted(builders.ICDO3_CODES)]
    found.append(builders.metastasis("lung"))
    return found


CORPUS = _corpus()
#: The same with members R4B does not define at the top (dropped and named by the full check).
WITH_UNKNOWN = [
    {**c, "grade": {"text": "high", "modifierExtension": []}, "zz": 1} for c in CORPUS[:12]
]


def _r4b_judge(raw: dict[str, Any]) -> judge.Verdict:
    """The verdict of the fhir.resources path alone (no cheap reader anywhere)."""
    saved = judge.CHEAP_TYPES
    judge.CHEAP_TYPES = frozenset()
    try:
        return judge.full_judge(raw)
    finally:
        judge.CHEAP_TYPES = saved


def _agrees(raw: dict[str, Any]) -> None:
    """The property: the verdict with the cheap reader is the fhir.resources path's verdict,
    and a cheap "conformant" is its "nothing to report"."""
    expected = _r4b_judge(raw)
    assert judge.judge(copy.deepcopy(raw)) == expected, json.dumps(raw, default=str)[:400]
    if cheap_reader.conformant(raw):
        assert expected == judge.CONFORMANT, json.dumps(raw, default=str)[:400]


def test_the_corpus_is_real_and_read_cheaply() -> None:
    assert len(CORPUS) >= 30
    valid = [c for c in CORPUS if judge.full_judge(c) == judge.CONFORMANT]
    assert len(valid) >= 30
    assert all(cheap_reader.conformant(c) for c in valid)


def test_thousands_of_distinct_conformant_conditions_need_no_r4b_validation(monkeypatch) -> None:
    calls: list[str] = []
    validate = r4.validate

    def counting(raw: Any) -> r4.Validation:
        calls.append(str(raw.get("resourceType")))
        return validate(raw)

    monkeypatch.setattr(r4, "validate", counting)
    parse.VERDICTS.clear()
    body = many_conditions_body(500)
    result = map_prefetch(body["prefetch"], body["context"])
    assert len(result.patient.diagnoses) == 500
    assert "Condition" not in calls

    # each with an element R4B does not define: dropped and named, the rest read, as before
    parse.VERDICTS.clear()
    body = many_conditions_body(300, unknown=True)
    result = map_prefetch(body["prefetch"], body["context"])
    assert len(result.patient.diagnoses) == 300
    assert "Condition" not in calls
    dropped = [i for i in result.issues if i.kind == "unknown-element-dropped"]
    assert len(dropped) == 300
    assert dropped[0].problem == "element grade is not defined in FHIR R4; dropped"


# -- mutations ---------------------------------------------------------------------------------

ODD_VALUES = st.sampled_from(
    [
        None,
        "",
        " ",
        "\u0001x",
        "x\ud800",
        "a  b",
        0,
        -1,
        2**31,
        10**20,
        1.5,
        float("nan"),
        True,
        [],
        {},
        [None],
        [{}],
        ["x"],
        {"x": 1},
        {"extension": [{"url": "http://x", "valueBoolean": True}]},
        {"modifierExtension": [{"url": "http://x", "valueBoolean": True}]},
        "2020",
        "2020-13",
        "2021-02-29",
        "2020-02-29T10:00:00",
        "2020-02-29T24:00:00Z",
        "2020-02-29T10:00:60Z",
        "2020-02-29T10:00:00.1234567+14:30",
        "0000-01-01",
        "http://x y",
        "x" * 70_000,
    ]
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _paths(value, (*here, index))
    return paths


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    resource = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(resource)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = _parent(resource, path)
        action = draw(st.sampled_from(["replace", "delete", "add", "modifier", "sibling"]))
        if action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(ODD_VALUES))
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            name = draw(
                st.sampled_from(
                    [
                        "foo",
                        "grade",
                        "_code",
                        "_recordedDate",
                        "recordedDate__ext",
                        "resourceType",
                        "fhir_comments",
                        "div",
                        "participant",
                        "x1",
                    ]
                )
            )
            parent[name] = copy.deepcopy(draw(ODD_VALUES))
        elif action == "modifier" and isinstance(parent, dict):
            parent["modifierExtension"] = [{"url": "http://x", "valueBoolean": True}]
        elif action == "sibling" and isinstance(parent, dict):
            # a second member of a choice group (onset[x], value[x]) or a known element
            name = draw(
                st.sampled_from(["onsetString", "onsetPeriod", "abatementAge", "valueString"])
            )
            parent[name] = draw(st.sampled_from(["x", {"start": "2020"}, {"value": 3}]))
    return resource


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(st.sampled_from(CORPUS)))
def test_mutated_fixture_conditions(resource: dict[str, Any]) -> None:
    _agrees(resource)


# -- generated Conditions, primitive by primitive -----------------------------------------------

DATES = st.from_regex(
    r"\A[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,8})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?\Z"
)
STRINGS = st.text(max_size=12) | st.sampled_from(["GIST", "a b", " a", "a\tb", "ü", "\n"])
PRIMITIVE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "valueString": STRINGS,
    "valueMarkdown": STRINGS,
    "valueCode": STRINGS,
    "valueId": STRINGS | st.from_regex(r"\A[A-Za-z0-9.\-]{1,70}\Z"),
    "valueUri": STRINGS,
    "valueCanonical": STRINGS,
    "valueDate": DATES,
    "valueDateTime": DATES,
    "valueInstant": DATES,
    "valueBoolean": st.booleans() | st.integers(0, 1) | STRINGS,
    "valueInteger": st.integers() | st.floats() | st.booleans(),
    "valueUnsignedInt": st.integers(-3, 3) | st.integers(),
    "valuePositiveInt": st.integers(-3, 3) | st.integers(),
    "valueDecimal": st.integers() | st.floats() | st.booleans() | STRINGS,
}
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(["http://snomed.info/sct", "urn:oid:2.16", "x y", ""]),
        "code": st.sampled_from(["420120006", "8936/3", "a b", "a  b", " ", ""]),
        "display": STRINGS,
        "userSelected": st.booleans(),
    },
)
CONCEPT = st.fixed_dictionaries(
    {}, optional={"coding": st.lists(CODING, max_size=2), "text": STRINGS}
)


@st.composite
def extension(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(PRIMITIVE_VALUES)))
    ext: dict[str, Any] = {"url": draw(st.sampled_from(["http://x/histology", "x", "a b"]))}
    ext[name] = draw(PRIMITIVE_VALUES[name])
    if draw(st.booleans()):
        ext["valueCodeableConcept"] = draw(CONCEPT)
    return ext


GENERATED = st.fixed_dictionaries(
    {"resourceType": st.just("Condition"), "subject": st.just({"reference": "Patient/p1"})},
    optional={
        "id": st.from_regex(r"\A[A-Za-z0-9.\-]{1,70}\Z") | STRINGS,
        "clinicalStatus": CONCEPT,
        "verificationStatus": CONCEPT,
        "code": CONCEPT,
        "bodySite": st.lists(CONCEPT, max_size=2),
        "extension": st.lists(extension(), max_size=3),
        "onsetDateTime": DATES,
        "recordedDate": DATES,
        "onsetAge": st.fixed_dictionaries(
            {}, optional={"value": PRIMITIVE_VALUES["valueDecimal"], "unit": STRINGS}
        ),
        "stage": st.lists(st.fixed_dictionaries({}, optional={"summary": CONCEPT}), max_size=2),
        "meta": st.fixed_dictionaries({}, optional={"profile": st.lists(STRINGS, max_size=2)}),
        "note": st.lists(st.fixed_dictionaries({"text": STRINGS}), max_size=2),
    },
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GENERATED)
def test_generated_conditions(resource: dict[str, Any]) -> None:
    _agrees(resource)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(GENERATED))
def test_mutated_generated_conditions(resource: dict[str, Any]) -> None:
    _agrees(resource)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("valueDateTime", "2024-02-29T10:00:00+02:00"),
        ("valueDate", "2024-02"),
        ("valueInstant", "2024-02-29T10:00:00.123Z"),
        ("valueDecimal", 1.25),
        ("valuePositiveInt", 3),
        ("valueCode", "8936/3"),
    ],
)
def test_common_primitives_are_proven(name: str, value: Any) -> None:
    resource = builders.condition("gist")
    resource["extension"] = [{"url": "http://example.org/x", name: value}]
    assert cheap_reader.conformant(resource)
    _agrees(resource)


def test_check_resource_is_the_same_with_or_without_the_cheap_reader(monkeypatch) -> None:
    parse.VERDICTS.clear()
    cheap = [parse.check_resource(c) for c in CORPUS + WITH_UNKNOWN]
    monkeypatch.setattr(judge, "CHEAP_TYPES", frozenset())
    parse.VERDICTS.clear()
    full = [parse.check_resource(c) for c in CORPUS + WITH_UNKNOWN]
    parse.VERDICTS.clear()
    assert cheap == full
    assert all(issues for _, issues in full[len(CORPUS) :])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("valueDate", "2021-02-29"),
        ("valueDateTime", "2021-04-31"),
        ("valueDateTime", "2020-02-29T10:00:00"),
        ("valueInstant", "2020-02-29"),
        ("valueCode", "a  b"),
        ("valueString", ""),
        ("valuePositiveInt", 0),
        ("valueInteger", 2**31),
    ],
)
def test_non_conformant_primitives_are_left_to_the_full_check(name: str, value: Any) -> None:
    """(The reader is stricter than R4B elsewhere: ``true`` for an integer, ``"true"`` for a
    boolean, a URI with a space or an id with ``_`` are valid to pydantic's lax reading, and
    simply left to the full check.)"""
    resource = builders.condition("gist")
    resource["extension"] = [{"url": "http://example.org/x", name: value}]
    assert not cheap_reader.conformant(resource)
    assert judge.full_judge(resource) != judge.CONFORMANT


def test_a_malformed_extension_sibling_is_an_unreadable_condition_not_a_500(client) -> None:
    """Found by the mutation test above: fhir.resources raised AttributeError (not a pydantic
    error) for a string where a ``_recordedDate`` extension sibling belongs, and the hook call
    was answered 500 ``internal-error``."""
    condition = builders.condition("gist", id="odd-sibling")
    condition["_recordedDate"] = "2020"
    cleaned, issues = parse.check_resource(condition)
    assert cleaned is None
    assert [i.kind for i in issues] == ["invalid-resource"]
    body = builders.order_sign([builders.draft("imatinib")], conditions=[condition])
    resp = client.post("/cds-services/sarcoma-order-sign", json=body)
    assert resp.status_code == 200


def test_an_error_message_that_cannot_be_rendered_is_an_unreadable_resource() -> None:
    """Found by the mutation tests: a lone surrogate where R4B names a resource type made
    pydantic's error rendering raise UnicodeEncodeError out of ``r4.validate``."""
    condition = builders.condition("gist", id="odd-subject")
    condition["subject"]["resourceType"] = "x\ud800"
    assert r4.validate(condition) == r4.Validation((), (((), "UnicodeEncodeError"),))
    cleaned, issues = parse.check_resource(condition)
    assert cleaned is None
    assert [i.kind for i in issues] == ["invalid-resource"]
