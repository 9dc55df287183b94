"""Rising-rate series and what they sum up to."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench import phase
from bench.harness import Harness
from bench.phase import Stream

GROWTH = 1.4
MAX_STEP_MESSAGES = 30_000  # past this a step is shortened (the job stays a sane size)


def rates_beyond(rates: Sequence[float], extra: int) -> list[float]:
    """The profile's rates, then `extra` more, each GROWTH times the last."""
    more = [rates[-1] * GROWTH**k for k in range(1, extra + 1)]
    return [*rates, *(round(r, -1) for r in more)]


class Rising:
    """Steps at rising offered rates until the acknowledgements no longer keep up (or, with
    `until_delivery_lags`, the deliveries); `extra` (default: the profile's) more steps past
    the profile's rates while they do. Then the profile's `refine` steps between the best
    rate kept up with and the next one, which was not (see `gap`). One step per `advance`,
    so two series can take turns (`in_turns`).

    A step that does not keep up is run once more, and the second run is the step's result
    (the first stays in the list, marked `superseded`, and counts in no figure). On a
    shared machine another tenant's burst only ever slows a step down: one such second in
    a series stopped the bare forwarder at 2,317/s in one quick run and let it reach
    5,016/s in another, ten minutes apart, and the ratios swung with it (0.39 to 0.68).
    The same rule holds for the bridge and for the baselines alike."""

    def __init__(
        self,
        h: Harness,
        stream: Stream,
        prefix: str,
        *,
        lanes: Sequence[str],
        room_of: Mapping[str, str],
        failures: list[str],
        extra: int | None = None,
        until_delivery_lags: bool = False,
    ) -> None:
        self.steps: list[dict[str, Any]] = []
        self.done = False
        self._h, self._stream, self._prefix = h, stream, prefix
        self._lanes, self._room_of, self._failures = lanes, room_of, failures
        self._until_delivery_lags = until_delivery_lags
        more = h.profile.extra_steps if extra is None else extra
        self._rising = list(enumerate(rates_beyond(h.profile.rates, more)))
        self._refined = 0
        self._by_delivery = stream.sink is not None

    async def advance(self) -> None:
        """The series' next step: rising, then refined; `done` once there is none."""
        if self._rising:
            n, rate = self._rising.pop(0)
            found = await self._step(f"{self._prefix}{n}", rate)
            delivery = found.get("delivery")
            lags = self._until_delivery_lags and delivery is not None and not delivery["keeps_up"]
            if not found["keeps_up"] or lags:
                self._rising = []
            return
        between = None
        if self._refined < self._h.profile.refine:
            between = gap(self.steps, by_delivery=self._by_delivery)
        if between is None:
            self.done = True
            return
        found = await self._step(f"{self._prefix}r{self._refined}", between, "  (refined)")
        found["refined"] = True
        self._refined += 1

    async def _step(self, tag: str, rate: float, note: str = "") -> dict[str, Any]:
        found = await self._attempt(tag, rate, note)
        if kept_up(found, by_delivery=self._by_delivery):
            return found
        found["superseded"] = True
        return await self._attempt(f"{tag}b", rate, f"{note}  (run again)")

    async def _attempt(self, tag: str, rate: float, note: str) -> dict[str, Any]:
        h, stream = self._h, self._stream
        seconds = min(h.profile.step_seconds, MAX_STEP_MESSAGES / rate)
        found = await phase.run(
            h, stream, tag, rate=rate, seconds=seconds, lanes=self._lanes, room_of=self._room_of
        )
        found["tag"] = tag
        self.steps.append(found)
        note_failures(f"{stream.name} at {rate:g}/s", found, self._failures)
        print(f"  {stream.name:<24} {line(found)}{note}", flush=True)
        return found


async def in_turns(series: Sequence[Rising]) -> None:
    """One step of each series in turn until all are done: two servers compared step by
    step see the machine at the same moment. On this shared 2-core machine the same work
    cost up to twice the CPU from one minute to the next (the forwarder at a fixed 200/s:
    0.09 to 0.24 of a core in five runs within 30 minutes), and a series run a minute after
    another was judged on a different machine."""
    while not all(s.done for s in series):
        for s in series:
            if not s.done:
                await s.advance()


def kept_up(step: Mapping[str, Any], *, by_delivery: bool) -> bool:
    """Every request answered in time and, where deliveries are counted, them too."""
    if not step["keeps_up"]:
        return False
    return not by_delivery or bool(step["delivery"]["keeps_up"])


def counted(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The steps the figures are taken from: a step run again counts by its second run."""
    return [s for s in steps if not s.get("superseded")]


def gap(steps: Sequence[Mapping[str, Any]], *, by_delivery: bool) -> float | None:
    """The rate halfway (geometrically) between the best offered rate that was kept up
    with and the lowest higher one that was not, rounded to 10/s; None when every step kept
    up, none did, or the two are too close to tell apart.

    The profile's rates double or grow by 1.4 from one step to the next, so a series alone
    cannot tell a server that manages 1,450/s from one that manages 2,700/s (both keep up
    at 1,400 and not at 2,800); each refined step halves it (on a log scale), for
    the bridge and the baseline alike."""

    def kept(s: Mapping[str, Any]) -> bool:
        return bool(s["delivery"]["keeps_up"] if by_delivery else s["keeps_up"])

    steps = counted(steps)
    lo = max((s["offered_rate"] for s in steps if kept(s)), default=None)
    if lo is None:
        return None
    hi = min((s["offered_rate"] for s in steps if not kept(s) and s["offered_rate"] > lo),
             default=None)  # fmt: skip
    if hi is None:
        return None
    rate = float(round(math.sqrt(lo * hi), -1))
    return rate if lo < rate < hi else None


def note_failures(what: str, step: Mapping[str, Any], failures: list[str]) -> None:
    bad = step["messages"] - step["statuses"].get("200", 0)
    if bad:
        failures.append(f"{what}: {bad} requests not acknowledged 200 ({step['statuses']})")
    check = step.get("delivery", {}).get("check")
    if check is not None and not check["ok"]:
        failures.append(f"{what}: {_describe(check)}")


def _describe(check: Mapping[str, Any]) -> str:
    parts = [
        f"{k} {check[k]}"
        for k in ("lost", "duplicated", "reordered", "misrouted", "unexpected")
        if check[k]
    ]
    return f"FAILED {', '.join(parts)} of {check['expected']}: {'; '.join(check['examples'][:3])}"


def line(step: Mapping[str, Any]) -> str:
    text = (
        f"offered {step['offered_rate']:>7g}/s  acked {step['ack_rate']:>8.1f}/s"
        f"  ack p50/p99 {_ms(step['ack_latency'])}"
    )
    if "delivery" in step:
        d = step["delivery"]
        text += f"  delivered {d['rate']:>8.1f}/s  p50/p99 {_ms(d['latency'])}  {_ok(d['check'])}"
    cpu = step["cpu"]
    text += (
        f"  cpu srv {cpu['server_util']:.2f} fakes {cpu['fakes_util']:.2f}"
        f" gen {cpu['loadgen_util']:.2f}"
    )
    return text


def _ms(latency: Mapping[str, Any]) -> str:
    p50, p99 = latency.get("p50_ms"), latency.get("p99_ms")
    return f"{p50 or 0:>6.1f}/{p99 or 0:>7.1f} ms"


def _ok(check: Mapping[str, Any]) -> str:
    return "ok" if check["ok"] else "CHECK FAILED"


def acked(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Sustained and max acknowledged rate of a series, with the latency at the former."""
    steps = counted(steps)
    kept = [s for s in steps if s["keeps_up"]]
    best = max(kept, key=lambda s: s["ack_rate"], default=None)
    full = [s["ack_rate"] for s in steps if s["all_acknowledged"]]
    return {
        "sustained_rate": best["ack_rate"] if best else 0.0,
        "sustained_offered": best["offered_rate"] if best else 0.0,
        "max_ack_rate": max(full, default=0.0),
        "ack_latency_at_sustained": best["ack_latency"] if best else {},
        "saturated": any(not s["keeps_up"] for s in steps),
    }


def delivered(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Sustained delivery rate (every message once, in order, keeping up) of a series."""
    steps = counted(steps)
    kept = [s for s in steps if s["delivery"]["keeps_up"]]
    best = max(kept, key=lambda s: s["delivery"]["rate"], default=None)
    on_grid = [s["delivery"]["rate"] for s in kept if not s.get("refined")]
    return {
        "sustained_rate": best["delivery"]["rate"] if best else 0.0,
        "sustained_rate_on_grid": max(on_grid, default=0.0),  # the refined steps left out
        "sustained_offered": best["offered_rate"] if best else 0.0,
        "max_delivery_rate": max((s["delivery"]["rate"] for s in steps), default=0.0),
        "latency_at_sustained": best["delivery"]["latency"] if best else {},
        "saturated": any(not s["delivery"]["keeps_up"] for s in steps),
    }
