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


async def rising(
    h: Harness,
    stream: Stream,
    prefix: str,
    *,
    lanes: Sequence[str],
    room_of: Mapping[str, str],
    failures: list[str],
    extra: int | None = None,
    until_delivery_lags: bool = False,
) -> list[dict[str, Any]]:
    """Steps at rising offered rates until the acknowledgements no longer keep up (or, with
    `until_delivery_lags`, the deliveries); `extra` (default: the profile's) more steps past
    the profile's rates while they do. Then the profile's `refine` steps between the best
    rate kept up with and the next one, which was not (see `gap`).

    A step that does not keep up is run once more, and the second run is the step's result
    (the first stays in the list, marked `superseded`, and counts in no figure). On a
    shared machine another tenant's burst only ever slows a step down: one such second in
    a series stopped the bare forwarder at 2,317/s in one quick run and let it reach
    5,016/s in another, ten minutes apart, and the ratios swung with it (0.39 to 0.68).
    The same rule holds for the bridge and for the baselines alike."""
    steps: list[dict[str, Any]] = []
    more = h.profile.extra_steps if extra is None else extra
    by_delivery = stream.sink is not None

    async def attempt(tag: str, rate: float, note: str) -> dict[str, Any]:
        seconds = min(h.profile.step_seconds, MAX_STEP_MESSAGES / rate)
        found = await phase.run(
            h, stream, tag, rate=rate, seconds=seconds, lanes=lanes, room_of=room_of
        )
        found["tag"] = tag
        steps.append(found)
        note_failures(f"{stream.name} at {rate:g}/s", found, failures)
        print(f"  {stream.name:<24} {line(found)}{note}", flush=True)
        return found

    async def step(tag: str, rate: float, note: str = "") -> dict[str, Any]:
        found = await attempt(tag, rate, note)
        if kept_up(found, by_delivery=by_delivery):
            return found
        found["superseded"] = True
        return await attempt(f"{tag}b", rate, f"{note}  (run again)")

    for n, rate in enumerate(rates_beyond(h.profile.rates, more)):
        found = await step(f"{prefix}{n}", rate)
        if not found["keeps_up"]:
            break
        if until_delivery_lags and "delivery" in found and not found["delivery"]["keeps_up"]:
            break
    for n in range(h.profile.refine):
        between = gap(steps, by_delivery=by_delivery)
        if between is None:
            break
        found = await step(f"{prefix}r{n}", between, "  (refined)")
        found["refined"] = True
    return steps


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
