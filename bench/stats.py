"""Percentiles and rates."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50 / p90 / p99 / max of latencies given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": _round(percentile(ms, 50)),
        "p90_ms": _round(percentile(ms, 90)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms) if ms else math.nan),
    }


def rate(count: int, start: float, end: float, slot: float = 0.0) -> float:
    """Events per second from `start` to `end`, plus one `slot` (the interval between two
    sends: n evenly spaced sends span n-1 intervals); 0 when there is nothing."""
    span = end - start + slot
    return round(count / span, 1) if span > 0 and count else 0.0


def _round(value: float) -> float | None:
    """Two decimals; None (JSON null) for no value."""
    return None if math.isnan(value) else round(value, 2)
