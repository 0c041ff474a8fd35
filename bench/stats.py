"""Timing helpers: alternate two contenders in one run and report median and spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Sample:
    """Timings of one contender, in seconds."""

    name: str
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> tuple[float, float]:
        """Interquartile range (25th, 75th percentile)."""
        if len(self.times) < 4:
            return (min(self.times), max(self.times))
        q = statistics.quantiles(self.times, n=4)
        return (q[0], q[2])

    def as_dict(self) -> dict[str, float | int]:
        low, high = self.spread
        return {"median_s": self.median, "p25_s": low, "p75_s": high, "n": len(self.times)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def alternate(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, Sample]:
    """Run each contender once per round, in alternating order, after ``warmup`` untimed rounds."""
    names = list(contenders)
    samples = {name: Sample(name, []) for name in names}
    for r in range(warmup + rounds):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            start = time.perf_counter()
            contenders[name]()
            elapsed = time.perf_counter() - start
            if r >= warmup:
                samples[name].times.append(elapsed)
    return samples
