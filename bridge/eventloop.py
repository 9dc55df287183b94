"""The event loop the bridge runs on, and its garbage collector's settings."""

from __future__ import annotations

import asyncio
import gc
import sys

# CPython's defaults (700, 10, 10) run a young collection every 700 net allocations: at
# 2,800 relayed messages/s that was 4,000 collections in 35 s, and each full collection
# walked the ~80,000 objects built at start-up (settings, flow, models, routes): 5-6% of
# the loop's CPU in all (measured with gc.callbacks, bench relay at 2,800/s offered).
# Cycles are still collected, only in bigger batches; start-up objects are frozen.
GC_THRESHOLDS = (10_000, 10, 10)


# The SQLite writer's COMMIT returns on a helper thread, which then needs the GIL to hand
# the result back; while the event loop is busy it gets it only when the interpreter's
# switch interval (5 ms by default) runs out. A relayed message waited for two commits
# then (one since the hand-off at intake: bridge/core/intake.py), so near saturation that
# wait was much of its latency: at 0.5 ms, relaying at
# 2,000 messages/s offered went from p50 27-53 / p99 66-279 ms to 19-26 / 34-91 ms (three
# alternating A/B rounds, 3-second phases) for about 2% more CPU per message.
SWITCH_INTERVAL = 0.0005


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it exists (Linux, macOS), the standard loop elsewhere. Measured at 700
    webhooks/s, three alternating runs each: 1.12 CPU ms per relayed message against 1.20."""
    try:
        import uvloop  # noqa: PLC0415 - optional, absent on Windows
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tune_collector() -> None:
    """Fewer, bigger young collections (GC_THRESHOLDS); for the serving process only."""
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_heap() -> None:
    """Once start-up is done: what exists now lives as long as the process, so full
    collections stop walking it (gc.freeze; the objects are never freed, which they would
    not be anyway)."""
    gc.collect()
    gc.freeze()


def tune_threads() -> None:
    """The GIL changes hands sooner (SWITCH_INTERVAL); for the serving process only."""
    sys.setswitchinterval(SWITCH_INTERVAL)
