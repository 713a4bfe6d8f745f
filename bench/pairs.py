"""How ``bench/run.py`` turns short wrk slices into one figure per workload.

The host is shared, and its speed moves within seconds (bench/RESULTS.md: adjacent 3-second
pairs of floor and service on the same body gave ratios from 0.31 to 0.60). A ratio taken from
one long slice of each side, or the median of three such pairs, is then mostly the luck of
when each slice ran. So each ratio workload is measured as many short pairs, floor and service
back to back on the same body, in alternating order (floor first in even pairs, service first
in odd ones, so that a steady drift of the host's speed favours neither side), and the figure
kept is the median of the pairs' ratios. Latency figures are the median over the slices of
each slice's percentile (the typical window's tail, as the median round's p99 was before);
``max_ms`` is the largest of any slice, ``errors`` and ``requests`` are summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

Slice = dict[str, Any]


def pair_order(index: int, floor: str, service: str) -> tuple[str, str]:
    """The order of the two slices of pair ``index`` (0-based)."""
    return (floor, service) if index % 2 == 0 else (service, floor)


def summarise(slices: Sequence[Slice]) -> dict[str, Any]:
    """One workload's figures from its slices (each as ``run_wrk`` returns it)."""
    if not slices:
        raise ValueError("no slice measured")
    return {
        "requests": sum(s["requests"] for s in slices),
        "throughput_rps": round(median(s["throughput_rps"] for s in slices), 1),
        "p50_ms": round(median(s["p50_ms"] for s in slices), 3),
        "p95_ms": round(median(s["p95_ms"] for s in slices), 3),
        "p99_ms": round(median(s["p99_ms"] for s in slices), 3),
        "max_ms": max(s["max_ms"] for s in slices),
        "errors": sum(s["errors"] for s in slices),
        "slices_rps": [s["throughput_rps"] for s in slices],
        "slices_p99_ms": [s["p99_ms"] for s in slices],
    }


def pair_ratios(service: Sequence[Slice], floor: Sequence[Slice]) -> list[float]:
    """Service throughput over floor throughput, pair by pair (the slices in pair order)."""
    if len(service) != len(floor):
        raise ValueError("service and floor slices must pair up")
    return [s["throughput_rps"] / f["throughput_rps"] for s, f in zip(service, floor, strict=True)]


def ratio_to_floor(ratios: Sequence[float]) -> float:
    """The median of the pairs' ratios (:func:`pair_ratios`)."""
    return round(median(ratios), 3)
