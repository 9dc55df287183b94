"""One load phase: send at an offered rate, wait for delivery, check it, measure it.

A phase *keeps up* with its offered rate when every request was answered 200 and the
answers (or, for delivery, the arrivals at the fake) came at ≥ 95% of that rate, measured
from the first request sent to the last answer (arrival). The best phase that keeps up in
a rising series (with its refined steps, `series.gap`) gives the *sustained* rate; the
fastest answer rate seen in any phase whose requests were all answered 200 gives the *max
acknowledged* rate (the saturation point).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench import checks, stats
from bench.harness import Harness, Record
from bench.payloads import Planned, expected_lanes, parse_tagged, plan, rocketchat_job, whatsapp_job
from bench.procs import Child

KEEP_UP = 0.95


@dataclass(frozen=True)
class Stream:
    name: str
    urls: tuple[str, ...]  # several: the requests alternate between them (replicas)
    kind: str  # "whatsapp" (signed Meta webhooks) | "rocketchat" (Omnichannel webhooks)
    sink: str | None  # the fake whose arrivals count: "rc" | "graph" | None (acks only)
    servers: tuple[Child, ...]  # the processes whose CPU is measured (summed)

    def cpu(self) -> float:
        return sum(server.cpu() for server in self.servers)


async def run(
    h: Harness,
    stream: Stream,
    tag: str,
    *,
    rate: float,
    seconds: float,
    lanes: Sequence[str],
    room_of: Mapping[str, str],
) -> dict[str, Any]:
    planned = plan(tag, rate, seconds, lanes)
    if stream.kind == "whatsapp":
        job = whatsapp_job(stream.urls, tag, planned, h.profile.connections)
    else:
        items = [[room_of[p.lane], p.text, p.at] for p in planned]
        made = await h.post("/agent_payloads", {"items": items})
        clock = {"url": f"{h.control}/clock", "body": {"batch": made["batch"]}}
        job = rocketchat_job(stream.urls, planned, made["bodies"], h.profile.connections, clock)
    await h.freeze()
    since = h.mark(stream.sink) if stream.sink else 0
    server0, fakes0, wall0 = stream.cpu(), h.fakes.cpu(), time.monotonic()
    load = await h.load(job, f"{stream.name}-{tag}".replace(" ", "_").replace(">", ""))
    arrivals: list[Record] = []
    if stream.sink:
        arrivals = await h.wait_for(stream.sink, since, lambda r: _tag_of(r) == tag, len(planned))
    server_cpu, fakes_cpu = stream.cpu() - server0, h.fakes.cpu() - fakes0
    wall = time.monotonic() - wall0
    out = acknowledgements(rate, planned, load.results)
    out["statuses"] = load.statuses()
    if stream.sink:
        out["delivery"] = delivery(
            h, stream.sink, rate, planned=planned, results=load.results, arrivals=arrivals
        )
    done = out["delivery"]["delivered"] if stream.sink else len(load.ok)
    # Utilisation over the busy span (first request to last answer or arrival); the CPU
    # spent outside it (starting the load generator, polling the fakes) is small.
    ends = [r[1] for r in load.results] + [float(r[0]) for r in arrivals]
    busy = max(ends, default=0.0) - min((r[0] for r in load.results), default=0.0)
    busy = busy if busy > 0 else wall
    out["cpu"] = {
        "server_s": round(server_cpu, 3),
        "server_s_per_1000": round(server_cpu / done * 1000, 3) if done else None,
        "server_util": round(server_cpu / busy, 2),
        "fakes_util": round(fakes_cpu / busy, 2),
        "loadgen_util": round(load.cpu / busy, 2),
        "busy_s": round(busy, 2),
        "wall_s": round(wall, 2),
    }
    return out


def _tag_of(record: Record) -> str | None:
    parsed = parse_tagged(str(record[3]))
    return parsed[0] if parsed else None


def acknowledgements(
    rate: float, planned: Sequence[Planned], results: Sequence[Sequence[float]]
) -> dict[str, Any]:
    ok = [r for r in results if r[2] == 200]
    first = min((r[0] for r in results), default=0.0)
    last_sent = max((r[0] for r in results), default=0.0)
    last_ack = max((r[1] for r in ok), default=0.0)
    ack_rate = stats.rate(len(ok), first, last_ack, 1 / rate)
    all_ok = len(ok) == len(planned)
    return {
        "offered_rate": rate,
        "messages": len(planned),
        "sent_rate": stats.rate(len(results), first, last_sent, 1 / rate),
        "ack_rate": ack_rate,
        "all_acknowledged": all_ok,
        "keeps_up": all_ok and ack_rate >= KEEP_UP * rate,
        "ack_latency": stats.latency_ms([r[1] - r[0] for r in ok]),
    }


def delivery(
    h: Harness,
    sink: str,
    rate: float,
    *,
    planned: Sequence[Planned],
    results: Sequence[Sequence[float]],
    arrivals: Sequence[Record],
) -> dict[str, Any]:
    sent = {(p.lane, p.seq): r[0] for p, r in zip(planned, results, strict=True)}
    seen: list[tuple[str, str, int]] = []
    latencies: list[float] = []
    firsts: set[tuple[str, int]] = set()
    for record in arrivals:
        parsed = parse_tagged(str(record[3]))
        if parsed is None:
            continue
        _, lane, seq = parsed
        at = h.rooms.get(str(record[1]), "?") if sink == "rc" else str(record[1])
        seen.append((at, lane, seq))
        if (lane, seq) in sent and (lane, seq) not in firsts:
            firsts.add((lane, seq))
            latencies.append(float(record[0]) - sent[(lane, seq)])
    verdict = checks.check(expected_lanes(planned), seen)
    first = min(sent.values(), default=0.0)
    last = max((float(r[0]) for r in arrivals), default=0.0)
    delivered_rate = stats.rate(verdict.delivered, first, last, 1 / rate)
    return {
        "delivered": verdict.delivered,
        "rate": delivered_rate,
        "keeps_up": verdict.ok and delivered_rate >= KEEP_UP * rate,
        "latency": stats.latency_ms(latencies),
        "check": verdict.as_dict(),
    }
