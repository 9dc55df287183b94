"""Scenario 4: new citizens walk the default flow (config/flow.yaml) to an FAQ answer.

Each citizen types BOT_WALK ("oi", "duvidas", "horario"), `bot_think` seconds apart; new
citizens arrive at each of the profile's rates. What each turn must produce is taken from
the bot engine itself (the same flow, the same clock), so the check is: every citizen got
exactly those replies, in that order, the last text being the FAQ answer. A turn's latency
runs from its webhook POST to the arrival of its last reply at the fake Graph API. A rate
*keeps up* when the p99 turn latency stays below the think time (the citizen has the
answer before typing again). Replies per second are counted in the steady state, when
citizens on every turn of the walk overlap (from the first citizen's last turn to the last
citizen's arrival).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bot
from bench import bridgeproc, config, stats
from bench.harness import Harness, Record
from bench.payloads import walk_plan, whatsapp_job

FLOW = config.REPO / "config" / "flow.yaml"


def expected_turns(flow_file: Path = FLOW) -> list[list[str]]:
    """Per walk step, the kinds of Graph message it must produce ("text" | "interactive")."""
    flow = bot.load_flow(flow_file)
    state = None
    turns = []
    now = datetime.now(ZoneInfo(flow.settings.timezone))
    for text in config.BOT_WALK:
        result = bot.step(flow, state, bot.Input(text=text), now)
        turns.append(
            ["text" if isinstance(r, bot.TextReply) else "interactive" for r in result.replies]
        )
        state = result.state
    return turns


async def scenario(h: Harness, failures: list[str]) -> dict[str, Any]:
    session, workdir = h.session, h.workdir
    try:
        bridge = await bridgeproc.start(
            session, workdir, "bridge-bot", h.fakes.info, db=workdir / "bot.db", flow=FLOW
        )
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()
        tail = next((ln for ln in reversed(reason) if ln.strip()), "no output")
        return {
            "status": f"skipped: `python -m bridge run` with BRIDGE_FLOW={FLOW.name} "
            f"does not start ({reason[0]}; last log line: {tail[:300]})"
        }
    turns = expected_turns()
    steps = []
    try:
        for n, rate in enumerate(h.profile.bot_rates):
            step = await _step(h, bridge, n, rate, turns=turns, failures=failures)
            steps.append(step)
            print(f"  bridge bot{'':<17} {_line(step)}", flush=True)
            if not step["keeps_up"]:
                break
        memory = bridge.child.memory()
    finally:
        await bridge.child.stop()
    kept = [s for s in steps if s["keeps_up"]]
    best = max(kept, key=lambda s: s["replies_rate"], default=None)
    return {
        "status": "ok",
        "startup_s": bridge.startup_s,
        "expected_replies_per_turn": [len(t) for t in turns],
        "steps": steps,
        "sustained_replies_rate": best["replies_rate"] if best else 0.0,
        "turn_latency_at_sustained": best["turn_latency"] if best else {},
        "memory": memory,
        "log": bridgeproc.log_summary(bridge.child),
    }


async def _step(
    h: Harness,
    bridge: bridgeproc.Bridge,
    n: int,
    rate: float,
    *,
    turns: Sequence[Sequence[str]],
    failures: list[str],
) -> dict[str, Any]:
    p = h.profile
    count = max(1, round(rate * p.bot_seconds))
    lanes = [config.wa_id(config.BOT_PREFIX, n * 100_000 + i) for i in range(count)]
    planned = walk_plan(
        f"bot{n}", rate, p.bot_seconds, lanes, walk=config.BOT_WALK, think=p.bot_think
    )
    job = whatsapp_job([f"{bridge.url}/webhooks/whatsapp"], f"bot{n}", planned, p.connections)
    await h.freeze()
    since, cpu0 = h.mark("graph"), bridge.child.cpu()
    load = await h.load(job, f"bot{n}")
    wanted = set(lanes)
    per_citizen = sum(len(t) for t in turns)
    arrivals = await h.wait_for("graph", since, lambda r: r[1] in wanted, count * per_citizen)
    cpu = bridge.child.cpu() - cpu0
    sent = {(q.lane, q.seq): r[0] for q, r in zip(planned, load.results, strict=True)}
    latencies, problems = _turns(arrivals, sent, lanes, turns)
    bad_acks = len(planned) - len(load.ok)
    if bad_acks:
        problems.insert(0, f"{bad_acks} webhooks not acknowledged 200")
    if problems:
        failures.append(f"bot at {rate:g} citizens/s: FAILED {'; '.join(problems[:3])}")
    first = min(sent.values(), default=0.0)
    last = max((float(r[0]) for r in arrivals), default=0.0)
    # Steady state: once the first citizens are on their last turn and before the last
    # citizens arrive, every turn of the walk is under way at once.
    window = (first + (len(turns) - 1) * p.bot_think, first + p.bot_seconds)
    steady = [r for r in arrivals if window[0] <= float(r[0]) < window[1]]
    latency = stats.latency_ms(latencies)
    return {
        "citizens_per_s": rate,
        "citizens": count,
        "webhooks": len(planned),
        "replies": len(arrivals),
        "replies_rate": stats.rate(len(steady), *window)
        if window[1] > window[0]
        else stats.rate(len(arrivals), first, last),
        "replies_rate_overall": stats.rate(len(arrivals), first, last),
        "turn_latency": latency,
        "ack_latency": stats.latency_ms([r[1] - r[0] for r in load.ok]),
        "check": {"ok": not problems, "problems": problems[:10]},
        "keeps_up": not problems and (latency["p99_ms"] or 0) < p.bot_think * 1000,
        "cpu_s_per_1000_replies": round(cpu / len(arrivals) * 1000, 3) if arrivals else None,
    }


def _turns(
    arrivals: Sequence[Record],
    sent: dict[tuple[str, int], float],
    lanes: Sequence[str],
    turns: Sequence[Sequence[str]],
) -> tuple[list[float], list[str]]:
    """Turn latencies, and what differs from the expected replies (empty when all is well)."""
    got: dict[str, list[Record]] = defaultdict(list)
    for record in arrivals:
        got[str(record[1])].append(record)
    want = [kind for turn in turns for kind in turn]
    latencies: list[float] = []
    problems: list[str] = []
    for lane in lanes:
        replies = got.get(lane, [])
        kinds = [str(r[2]) for r in replies]
        if kinds != want:
            problems.append(f"{lane} got {kinds}, expected {want}")
            continue
        texts = [str(r[3]) for r in replies if r[2] == "text"]
        if not texts or config.FAQ_MARKER not in texts[-1]:
            problems.append(f"{lane}: the last text is not the FAQ answer")
        end = 0
        for step, turn in enumerate(turns):
            end += len(turn)
            if turn:
                latencies.append(float(replies[end - 1][0]) - sent[(lane, step)])
    return latencies, problems


def _line(step: dict[str, Any]) -> str:
    lat = step["turn_latency"]
    return (
        f"{step['citizens_per_s']:>5g} citizens/s  replies {step['replies_rate']:>7.1f}/s"
        f"  turn p50/p99 {lat['p50_ms'] or 0:.1f}/{lat['p99_ms'] or 0:.1f} ms"
        f"  {'ok' if step['check']['ok'] else 'CHECK FAILED'}"
    )
