"""The benchmark's verdicts come from many short floor/service pairs (bench/pairs.py)."""

from __future__ import annotations

import pytest

from bench.pairs import pair_order, pair_ratios, ratio_to_floor, summarise


def _slice(rps: float, p99: float = 30.0, errors: int = 0) -> dict[str, float]:
    return {
        "requests": int(rps * 3),
        "throughput_rps": rps,
        "p50_ms": p99 / 3,
        "p95_ms": p99 / 1.5,
        "p99_ms": p99,
        "max_ms": p99 * 2,
        "errors": errors,
    }


def test_pairs_alternate_which_side_runs_first() -> None:
    orders = [pair_order(i, "floor", "service") for i in range(4)]
    assert orders == [
        ("floor", "service"),
        ("service", "floor"),
        ("floor", "service"),
        ("service", "floor"),
    ]


def test_one_stalled_slice_in_eight_does_not_decide_the_ratio() -> None:
    floor = [_slice(1000.0) for _ in range(8)]
    service = [_slice(450.0) for _ in range(8)]
    floor[3] = _slice(400.0)  # the host stalled during one floor slice
    service[5] = _slice(150.0)  # and during one service slice
    assert ratio_to_floor(pair_ratios(service, floor)) == 0.45
    assert sorted(pair_ratios(service, floor))[0] == pytest.approx(0.15)


def test_the_ratio_follows_the_service_when_it_is_slower_in_every_pair() -> None:
    floors = [1000.0, 800.0, 1200.0, 900.0, 1100.0, 700.0, 1000.0, 950.0]
    floor = [_slice(rps) for rps in floors]
    service = [_slice(rps * 0.38) for rps in floors]
    assert ratio_to_floor(pair_ratios(service, floor)) == 0.38


def test_latency_is_the_typical_slice_errors_and_worst_case_are_kept() -> None:
    slices = [_slice(500.0, p99) for p99 in (30.0, 32.0, 120.0, 31.0, 29.0)]
    slices[1] = _slice(500.0, 32.0, errors=2)
    figures = summarise(slices)
    assert figures["p99_ms"] == 31.0
    assert figures["max_ms"] == 240.0
    assert figures["errors"] == 2
    assert figures["requests"] == 7500
    assert figures["slices_p99_ms"] == [30.0, 32.0, 120.0, 31.0, 29.0]


def test_slices_that_do_not_pair_up_are_refused() -> None:
    with pytest.raises(ValueError):
        pair_ratios([_slice(1.0)], [])
    with pytest.raises(ValueError):
        summarise([])
