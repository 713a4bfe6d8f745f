"""Time (and optionally profile) ``fhir_mapping.map_prefetch`` on the benchmark bodies.

Usage: ``python -m bench.profile_mapping [--profile] [--runs N]``. Prints the median, p10 and p90
of many timed runs per body (the machine is shared, so medians are what to compare).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from bench.workloads import order_sign_body
from fhir_mapping import map_prefetch


def _time(size: int, runs: int) -> None:
    body = order_sign_body(size)
    prefetch, context = body["prefetch"], body["context"]
    for _ in range(20):  # warm caches / tables
        map_prefetch(prefetch, context)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        map_prefetch(prefetch, context)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(
        f"order_sign_body({size}): median {statistics.median(samples):.3f} ms  "
        f"p10 {samples[len(samples) // 10]:.3f}  p90 {samples[len(samples) * 9 // 10]:.3f}  "
        f"(n={runs})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    for size in (200, 1000):
        _time(size, args.runs)
    if args.profile:
        body = order_sign_body(1000)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(50):
            map_prefetch(body["prefetch"], body["context"])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
