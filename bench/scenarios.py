"""Scenarios 1, 2, 3 and 5: ingest, relay both ways, and the bare-aiohttp baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench import checks, phase, series
from bench.bridgeproc import Bridge
from bench.harness import Harness
from bench.payloads import expected_lanes, parse_tagged, plan, whatsapp_job
from bench.phase import Stream
from bench.procs import Child

WARM_RATE = 250.0


async def warm_up(
    h: Harness, bridge_url: str, lanes: Sequence[str], failures: list[str]
) -> dict[str, str]:
    """One message per conversation, so each gets a room with an agent; wa_id -> room id."""
    planned = plan("warm", WARM_RATE, len(lanes) / WARM_RATE, lanes)
    since = h.mark("rc")
    load = await h.load(
        whatsapp_job([f"{bridge_url}/webhooks/whatsapp"], "warm", planned, h.profile.connections),
        "warm",
    )
    arrivals = await h.wait_for("rc", since, lambda r: _tag(r) == "warm", len(planned))
    rooms = await h.refresh_rooms()
    verdict = checks.check(expected_lanes(planned), h.tagged(arrivals))
    missing = [lane for lane in lanes if lane not in rooms]
    firsts = h.first_messages(since, {rooms[lane] for lane in lanes if lane in rooms})
    bad = sum(1 for n in firsts.values() if n != 1)
    if len(load.ok) != len(planned) or not verdict.ok or missing or bad:
        failures.append(
            f"warm-up: {len(load.ok)}/{len(planned)} acknowledged, {verdict.describe()}, "
            f"{len(missing)} conversations without an open room, {bad} rooms without "
            "exactly one transcript"
        )
    print(
        f"  warm-up: {len(lanes) - len(missing)} conversations with an agent; {verdict.describe()}",
        flush=True,
    )
    return {lane: rooms[lane] for lane in lanes if lane in rooms}


def _tag(record: list[Any]) -> str | None:
    parsed = parse_tagged(str(record[3]))
    return parsed[0] if parsed else None


async def relay(
    h: Harness,
    stream: Stream,
    prefix: str,
    room_of: Mapping[str, str],
    failures: list[str],
    *,
    until_delivery_lags: bool = False,
) -> dict[str, Any]:
    """The fixed-rate latency phase, then the rising series, through one stream."""
    [out] = await relays_in_turns(
        h, [(stream, prefix, None)], room_of, failures, until_delivery_lags=until_delivery_lags
    )
    return out


async def relays_in_turns(
    h: Harness,
    streams: Sequence[tuple[Stream, str, int | None]],
    room_of: Mapping[str, str],
    failures: list[str],
    *,
    until_delivery_lags: bool = False,
) -> list[dict[str, Any]]:
    """`relay` for each (stream, prefix, extra steps), their phases in turns (fixed rate,
    then one step of each rising series after the other: series.in_turns)."""
    lanes = list(room_of)
    rate = h.profile.fixed_rate
    fixed = []
    for stream, prefix, _ in streams:
        found = await phase.run(
            h,
            stream,
            f"{prefix}fix",
            rate=rate,
            seconds=h.profile.fixed_seconds,
            lanes=lanes,
            room_of=room_of,
        )
        series.note_failures(f"{stream.name} at {rate:g}/s (fixed)", found, failures)
        print(f"  {stream.name:<24} {series.line(found)}  (fixed rate)", flush=True)
        fixed.append(found)
    rising = [
        series.Rising(
            h,
            s,
            prefix,
            lanes=lanes,
            room_of=room_of,
            failures=failures,
            extra=extra,
            until_delivery_lags=until_delivery_lags,
        )
        for s, prefix, extra in streams
    ]
    await series.in_turns(rising)
    outs = []
    for (stream, _, _), first, ran in zip(streams, fixed, rising, strict=True):
        every = [first, *ran.steps]  # the fixed-rate phase is one more step of the series
        out: dict[str, Any] = {"fixed": first, "steps": ran.steps, "ingest": series.acked(every)}
        if stream.sink:
            out["relay"] = series.delivered(every)
        outs.append(out)
    return outs


async def bridge_scenarios(
    h: Harness,
    bridges: Sequence[Bridge],
    room_of: Mapping[str, str],
    failures: list[str],
    *,
    statuses: bool = True,
    forwarder: Child | None = None,
) -> dict[str, Any]:
    """Scenarios 1-3 through one bridge, or alternating between several replicas (one
    database); then scenario 3+ through the first one, when `statuses`. With `forwarder`
    (the baseline's process), scenario 2 takes turns with the bare forwarder's series
    (scenario 5), whose figures come back under "forwarder"."""
    name = "bridge" if len(bridges) == 1 else f"{len(bridges)} replicas"
    # Runs on one database must not share message ids (the second would be deduplicated).
    tag = "" if len(bridges) == 1 else f"r{len(bridges)}"
    servers = tuple(b.child for b in bridges)
    inbound = Stream(f"{name} citizen>agent", _urls(bridges, "whatsapp"), "whatsapp", "rc",
                     servers)  # fmt: skip
    outbound = Stream(f"{name} agent>citizen", _urls(bridges, "rocketchat"), "rocketchat",
                      "graph", servers)  # fmt: skip
    found: dict[str, Any] = {}
    if forwarder is None:
        found["citizen_to_agent"] = await relay(h, inbound, f"{tag}c", room_of, failures)
    else:
        extra = h.profile.forwarder_extra_steps
        pair = [(inbound, f"{tag}c", None), (forward_stream(forwarder), "f", extra)]
        found["citizen_to_agent"], found["forwarder"] = await relays_in_turns(
            h, pair, room_of, failures
        )
    found["agent_to_citizen"] = await relay(h, outbound, f"{tag}a", room_of, failures)
    if statuses:
        found["agent_to_citizen_statuses"] = await with_statuses(h, bridges[0], room_of,
                                                                 failures)  # fmt: skip
    return found


def _urls(bridges: Sequence[Bridge], source: str) -> tuple[str, ...]:
    return tuple(f"{b.url}/webhooks/{source}" for b in bridges)


async def with_statuses(
    h: Harness, bridge: Bridge, room_of: Mapping[str, str], failures: list[str]
) -> dict[str, Any]:
    """Agent replies again, now with the `sent`/`delivered`/`read` webhooks Meta sends for
    each of them (2.5 per reply on average): ingest load on the same bridge."""
    stream = Stream("bridge agent>citizen+st", _urls([bridge], "rocketchat"), "rocketchat",
                    "graph", (bridge.child,))  # fmt: skip
    before = await h.get("/counts")
    switch = {"graph_webhook_url": f"{bridge.url}/webhooks/whatsapp", "graph_statuses": True}
    await h.post("/configure", switch)
    try:
        # Past the rate the relay keeps up with, each step only piles up status webhooks
        # for the fake to send afterwards: stop there.
        out = await relay(h, stream, "s", room_of, failures, until_delivery_lags=True)
    finally:
        await h.post("/configure", {"graph_statuses": False})
    after = await h.get("/counts")
    sent = after["graph_webhooks"] - before["graph_webhooks"]
    refused = after["graph_webhooks_not_200"] - before["graph_webhooks_not_200"]
    replies = after["graph_received"] - before["graph_received"]
    out["status_webhooks"] = {"sent": sent, "not_200": refused, "replies": replies}
    print(
        f"  status webhooks: {sent:,} for {replies:,} replies, {refused} not answered 200",
        flush=True,
    )
    if refused:
        failures.append(f"statuses phase: {refused} status webhooks not answered 200")
    return out


def forward_stream(baseline: Child) -> Stream:
    url = str(baseline.info["url"])
    return Stream("bare aiohttp forward", (f"{url}/forward",), "whatsapp", "rc", (baseline,))


async def baseline_scenarios(
    h: Harness,
    baseline: Child,
    room_of: Mapping[str, str],
    failures: list[str],
    forward: dict[str, Any],
) -> dict[str, Any]:
    """The acknowledger's series; the forwarder's (`forward`) ran beside the bridge's."""
    url = str(baseline.info["url"])
    ack = Stream("bare aiohttp ack", (f"{url}/ack",), "whatsapp", None, (baseline,))
    acks = series.Rising(
        h,
        ack,
        "k",
        lanes=list(room_of),
        room_of=room_of,
        failures=failures,
        extra=h.profile.baseline_extra_steps,
    )
    await series.in_turns([acks])
    ack_steps = acks.steps
    return {"ack": {"steps": ack_steps, "ingest": series.acked(ack_steps)}, "forward": forward}


def ratios(bridge: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """bridge / baseline for ingest (max acknowledged rate) and relay (sustained)."""
    inbound = bridge["citizen_to_agent"]
    b_ingest, c_ingest = inbound["ingest"]["max_ack_rate"], base["ack"]["ingest"]["max_ack_rate"]
    b_relay = inbound["relay"]["sustained_rate"]
    c_relay = base["forward"]["relay"]["sustained_rate"]
    b_grid = inbound["relay"]["sustained_rate_on_grid"]
    c_grid = base["forward"]["relay"]["sustained_rate_on_grid"]
    return {
        "ingest": _floor3(b_ingest / c_ingest) if c_ingest else None,
        "ingest_baseline_saturated": base["ack"]["ingest"]["saturated"],
        "relay": _floor3(b_relay / c_relay) if c_relay else None,
        "relay_on_grid": _floor3(b_grid / c_grid) if c_grid else None,
        "relay_baseline_saturated": base["forward"]["relay"]["saturated"],
    }


def _floor3(ratio: float) -> float:
    """Three decimals, rounded down: the targets are compared with what is shown, and
    0.4997 shown as 0.5 would pass a ≥ 0.50 target it missed."""
    return math.floor(ratio * 1000) / 1000
