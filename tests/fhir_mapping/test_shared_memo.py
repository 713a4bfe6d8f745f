"""The process-wide memos of drug identification and dose reading (fhir_mapping.shared_memo).

What a user notices: the second call for the same record maps exactly what the first did
without reading its drugs and doses again, and nothing a memo keeps names the patient.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fhir_mapping import map_prefetch, medications, orders
from fhir_mapping.explain import result_to_dict
from fhir_mapping.shared_memo import MISSING, SharedMemo
from tests.fhir_mapping.builders import CTX, bundle
from tests.scenarios import builders


def _record() -> dict[str, Any]:
    cycles = []
    for cycle in range(6):
        order = builders.medication(
            "imatinib",
            id=f"imatinib-c{cycle}",
            mg=400,
            authored=f"2025-0{cycle + 1}-01",
            patient_id="p1",
        )
        order["dosageInstruction"][0]["patientInstruction"] = "Jane Roe, MRN 99887766: with food"
        cycles.append(order)
    sunitinib = builders.medication("sunitinib", id="sunitinib-1", mg=50, patient_id="p1")
    return {"meds": bundle(*cycles, sunitinib)}


@pytest.fixture(autouse=True)
def _cold() -> None:
    orders.IDENTIFIED.clear()
    medications.DOSES.clear()


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"identify": 0, "read_dose": 0}
    identify, read_dose = medications.identify, medications.read_dose

    def counted_identify(concepts: list[Any]) -> Any:
        calls["identify"] += 1
        return identify(concepts)

    def counted_read_dose(*args: Any) -> Any:
        calls["read_dose"] += 1
        return read_dose(*args)

    monkeypatch.setattr(medications, "identify", counted_identify)
    monkeypatch.setattr(medications, "read_dose", counted_read_dose)
    return calls


def test_a_later_call_maps_the_same_without_reading_drugs_and_doses_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting(monkeypatch)
    record = _record()
    first = result_to_dict(map_prefetch(record, CTX))
    # Six cycles of one order and one other drug: two concepts and two dosages, read once.
    assert calls == {"identify": 2, "read_dose": 2}
    assert len(first["patient"]["exposures"]) == 7
    second = result_to_dict(map_prefetch(copy.deepcopy(record), CTX))
    assert calls == {"identify": 2, "read_dose": 2}
    assert second == first
    orders.IDENTIFIED.clear()
    medications.DOSES.clear()
    assert result_to_dict(map_prefetch(record, CTX)) == first
    assert calls == {"identify": 4, "read_dose": 4}


def test_the_memos_keep_no_patient_data() -> None:
    map_prefetch(_record(), CTX)
    kept = repr(list(orders.IDENTIFIED._entries.values()))
    kept += repr(list(medications.DOSES._entries.values()))
    assert "imatinib" in kept and "sunitinib" in kept  # drug-table entries are what is kept
    for secret in ("Jane Roe", "99887766", "imatinib-c", "sunitinib-1", "Patient/p1", "2025-0"):
        assert secret not in kept
    keys = list(orders.IDENTIFIED._entries) + list(medications.DOSES._entries)
    assert all(type(a) is int and type(b) is int for a, b in keys)  # hashes, not texts


def test_a_memo_is_bounded_and_tells_texts_apart() -> None:
    memo: SharedMemo[int | None] = SharedMemo(maxsize=3)
    keys = [memo.key(f'{{"text":"drug {i}"}}'.encode()) for i in range(5)]
    assert len(set(keys)) == 5
    assert memo.key(b'{"a":1}') != memo.key(b'{"a":1.0}')
    assert memo.key(b'{"a":1}') != SharedMemo().key(b'{"a":1}')  # secret per memo
    for i, key in enumerate(keys):
        memo.put(key, None if i == 4 else i)
    assert len(memo) == 3
    assert memo.get(keys[0]) is MISSING  # the oldest went first
    assert memo.get(keys[4]) is None and memo.get(keys[3]) == 3


def test_real_world_orders_map_the_same_from_the_memos() -> None:
    """A clinical-drug code with a dose in tablets, the same tablet count under the ingredient
    code (no strength: no mg), a brand name in text only, and a dose value that cannot be read
    as a dose: the second call, served by the memos, gives the same facts and issues."""
    from tests.fhir_mapping.test_products_and_doses import order, rx

    record = {
        "meds": bundle(
            order("scd", rx("403879"), value=1, unit="{tbl}", frequency=2),
            order("ing", rx("282388"), value=1, unit="{tbl}", frequency=2),
            order("brand", {"text": "Gleevec 400 mg tablet"}, value=400),
            order("bad", rx("403879"), value=1e308, unit="{tbl}"),
        )
    }
    first = result_to_dict(map_prefetch(record, CTX))
    assert result_to_dict(map_prefetch(copy.deepcopy(record), CTX)) == first
    doses = {e.source_ref: e.dose for e in map_prefetch(record, CTX).patient.exposures}
    scd, ingredient = doses["MedicationRequest/scd"], doses["MedicationRequest/ing"]
    assert scd is not None and scd.mg_per_day == 800  # strength 400 mg x 2 tablets
    assert ingredient is not None and ingredient.mg_per_day is None  # a count, never 800
    assert {e["source_ref"] for e in first["patient"]["exposures"]} >= {"MedicationRequest/brand"}
    assert any(
        i["reference"] == "MedicationRequest/bad" and i["kind"] == "unreadable-dose"
        for i in first["issues"]
    )
