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

try:
    from fhir_mapping.parse import VERDICTS

    HAS_CACHE = True
except ImportError:  # the code before the verdict cache
    HAS_CACHE = False


def _time(size: int, runs: int, *, cold: bool = False) -> None:
    body = order_sign_body(size)
    prefetch, context = body["prefetch"], body["context"]
    for _ in range(20):  # warm caches / tables
        map_prefetch(prefetch, context)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        if cold:
            VERDICTS.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        map_prefetch(prefetch, context)
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    wall.sort()
    label = "cold verdict cache" if cold else "warm"
    print(
        f"order_sign_body({size}) [{label}]: wall median {statistics.median(wall):.3f} ms "
        f"(p10 {wall[len(wall) // 10]:.3f}, p90 {wall[len(wall) * 9 // 10]:.3f}); "
        f"CPU median {statistics.median(cpu):.3f} ms  (n={runs})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    for size in (200, 1000):
        _time(size, args.runs)
        if HAS_CACHE:
            _time(size, max(args.runs // 5, 20), cold=True)
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
