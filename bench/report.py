"""The results: headline figures against the targets, per-step tables, JSON and Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.config import TARGETS

Row = tuple[str, str, Any, str]  # scenario, figure, value, unit


def figures(r: Mapping[str, Any]) -> dict[str, Any]:
    """The headline numbers, flat; keys of TARGETS among them."""
    b, base = r["bridge"], r["baseline"]
    c2a, a2c = b["citizen_to_agent"], b["agent_to_citizen"]
    st = b["agent_to_citizen_statuses"]
    statuses = st["status_webhooks"]
    stored = r["stored"]
    rss = [stored["memory_idle"].get("rss_mb"), stored["memory_after_burst"].get("rss_mb")]
    return {
        "ingest_rate": c2a["ingest"]["sustained_rate"],
        "ingest_max_ack_rate": c2a["ingest"]["max_ack_rate"],
        "ingest_p50_ms": c2a["ingest"]["ack_latency_at_sustained"].get("p50_ms"),
        "ingest_p99_ms": c2a["ingest"]["ack_latency_at_sustained"].get("p99_ms"),
        "baseline_ack_max_rate": base["ack"]["ingest"]["max_ack_rate"],
        "ingest_ratio": r["ratios"]["ingest"],
        "ingest_ratio_upper_bound": not r["ratios"]["ingest_baseline_saturated"],
        "relay_rate": c2a["relay"]["sustained_rate"],
        "relay_max_rate": c2a["relay"]["max_delivery_rate"],
        "relay_p50_ms": c2a["fixed"]["delivery"]["latency"]["p50_ms"],
        "relay_p99_ms": c2a["fixed"]["delivery"]["latency"]["p99_ms"],
        "baseline_forward_rate": base["forward"]["relay"]["sustained_rate"],
        "baseline_forward_p99_ms": base["forward"]["fixed"]["delivery"]["latency"]["p99_ms"],
        "relay_ratio": r["ratios"]["relay"],
        "relay_ratio_upper_bound": not r["ratios"]["relay_baseline_saturated"],
        "relay_ratio_on_grid": r["ratios"].get("relay_on_grid"),
        "agent_keeps_up": 1 if a2c["fixed"]["delivery"]["keeps_up"] else 0,
        "agent_relay_rate": a2c["relay"]["sustained_rate"],
        "agent_relay_max_rate": a2c["relay"]["max_delivery_rate"],
        "agent_relay_p50_ms": a2c["fixed"]["delivery"]["latency"]["p50_ms"],
        "agent_relay_p99_ms": a2c["fixed"]["delivery"]["latency"]["p99_ms"],
        "status_relay_rate": st["relay"]["sustained_rate"],
        "status_relay_max_rate": st["relay"]["max_delivery_rate"],
        "status_relay_p50_ms": st["fixed"]["delivery"]["latency"]["p50_ms"],
        "status_relay_p99_ms": st["fixed"]["delivery"]["latency"]["p99_ms"],
        "status_webhooks_per_reply": round(statuses["sent"] / statuses["replies"], 2)
        if statuses["replies"]
        else None,
        "bot_replies_rate": r["bot"].get("sustained_replies_rate"),
        "bot_turn_p50_ms": r["bot"].get("turn_latency_at_sustained", {}).get("p50_ms"),
        "bot_turn_p99_ms": r["bot"].get("turn_latency_at_sustained", {}).get("p99_ms"),
        "cpu_s_per_1000_in": c2a["fixed"]["cpu"]["server_s_per_1000"],
        "cpu_s_per_1000_out": a2c["fixed"]["cpu"]["server_s_per_1000"],
        "peak_rss_mb": b["memory"].get("hwm_mb"),
        "stored_rss_mb": max((v for v in rss if v is not None), default=None),
        "startup_empty_s": b["startup_s"],
        "startup_s": stored["startup_s"],
    }


def postgres_rows(r: Mapping[str, Any]) -> list[Row]:
    """Scenarios 1-3 again with the bridge on PostgreSQL (`--postgres URL`), when run: one
    replica, then two on the same database (requests alternating between them)."""
    pg = r.get("postgres")
    if not pg:
        return []
    rate = r["profile_rates"]["fixed_rate"]
    found = _relay_rows("PG 1 replica", pg, rate)
    found.append(("PG cost", "peak RSS of the bridge", pg["memory"].get("hwm_mb"), "MB"))
    if pg.get("two_replicas"):
        found += _relay_rows("PG 2 replicas", pg["two_replicas"], rate)
    return found


def _relay_rows(label: str, found: Mapping[str, Any], rate: float) -> list[Row]:
    c2a, a2c = found["citizen_to_agent"], found["agent_to_citizen"]
    return [
        (f"{label}: ingest", "sustained acknowledged rate", c2a["ingest"]["sustained_rate"],
         "webhooks/s"),
        (f"{label}: ingest", "max acknowledged rate", c2a["ingest"]["max_ack_rate"],
         "webhooks/s"),
        (f"{label}: citizen→agent", "sustained relay rate (once, in order)",
         c2a["relay"]["sustained_rate"], "msg/s"),
        (f"{label}: citizen→agent", f"latency p50 / p99 at {rate:g}/s",
         (c2a["fixed"]["delivery"]["latency"]["p50_ms"],
          c2a["fixed"]["delivery"]["latency"]["p99_ms"]), "ms"),
        (f"{label}: agent→citizen", "sustained relay rate (once, in order)",
         a2c["relay"]["sustained_rate"], "msg/s"),
        (f"{label}: agent→citizen", f"latency p50 / p99 at {rate:g}/s",
         (a2c["fixed"]["delivery"]["latency"]["p50_ms"],
          a2c["fixed"]["delivery"]["latency"]["p99_ms"]), "ms"),
    ]  # fmt: skip


def rows(r: Mapping[str, Any], f: Mapping[str, Any]) -> list[Row]:
    rate = r["profile_rates"]["fixed_rate"]
    return [
        ("1 ingest", "sustained acknowledged rate", f["ingest_rate"], "webhooks/s"),
        ("1 ingest", "max acknowledged rate (saturation)", f["ingest_max_ack_rate"], "webhooks/s"),
        (
            "1 ingest",
            "ack latency p50 / p99 at sustained rate",
            (f["ingest_p50_ms"], f["ingest_p99_ms"]),
            "ms",
        ),
        (
            "5 baseline",
            "bare aiohttp ack: max acknowledged rate",
            f["baseline_ack_max_rate"],
            "webhooks/s",
        ),
        ("1/5 ratio", "ingest bridge / bare aiohttp", _bound(r, "ingest"), "×"),
        ("2 citizen→agent", "sustained relay rate (once, in order)", f["relay_rate"], "msg/s"),
        ("2 citizen→agent", "max delivery rate (saturation)", f["relay_max_rate"], "msg/s"),
        (
            "2 citizen→agent",
            f"latency p50 / p99 at {rate:g}/s",
            (f["relay_p50_ms"], f["relay_p99_ms"]),
            "ms",
        ),
        (
            "5 baseline",
            "bare aiohttp forwarder: sustained rate",
            f["baseline_forward_rate"],
            "msg/s",
        ),
        (
            "5 baseline",
            f"bare aiohttp forwarder: p99 at {rate:g}/s",
            f["baseline_forward_p99_ms"],
            "ms",
        ),
        ("2/5 ratio", "relay bridge / bare forwarder", _bound(r, "relay"), "×"),
        (
            "2/5 ratio",
            "the same, profile's rates only (no refined steps, as before 2026-12-03)",
            f["relay_ratio_on_grid"],
            "×",
        ),
        (
            "3 agent→citizen",
            "sustained relay rate (once, in order)",
            f["agent_relay_rate"],
            "msg/s",
        ),
        ("3 agent→citizen", "max delivery rate (saturation)", f["agent_relay_max_rate"], "msg/s"),
        (
            "3 agent→citizen",
            f"latency p50 / p99 at {rate:g}/s",
            (f["agent_relay_p50_ms"], f["agent_relay_p99_ms"]),
            "ms",
        ),
        (
            "3+ statuses",
            "agent → citizen with status webhooks: sustained rate",
            f["status_relay_rate"],
            "msg/s",
        ),
        (
            "3+ statuses",
            f"latency p50 / p99 at {rate:g}/s",
            (f["status_relay_p50_ms"], f["status_relay_p99_ms"]),
            "ms",
        ),
        (
            "3+ statuses",
            "status webhooks per reply (sent, delivered, read)",
            f["status_webhooks_per_reply"],
            "webhooks",
        ),
        ("4 bot", "sustained replies", f["bot_replies_rate"], "replies/s"),
        ("4 bot", "turn latency p50 / p99", (f["bot_turn_p50_ms"], f["bot_turn_p99_ms"]), "ms"),
        (
            "6 cost",
            f"CPU per 1,000 citizen→agent messages at {rate:g}/s",
            f["cpu_s_per_1000_in"],
            "CPU s",
        ),
        (
            "6 cost",
            f"CPU per 1,000 agent→citizen messages at {rate:g}/s",
            f["cpu_s_per_1000_out"],
            "CPU s",
        ),
        ("6 cost", "peak RSS of the bridge (VmHWM, whole run)", f["peak_rss_mb"], "MB"),
        (
            "6 cost",
            f"RSS with {r['stored']['conversations']:,} conversations",
            f["stored_rss_mb"],
            "MB",
        ),
        ("6 cost", "start-up, empty store", f["startup_empty_s"], "s"),
        (
            "6 cost",
            f"start-up, {r['stored']['conversations']:,} conversations",
            f["startup_s"],
            "s",
        ),
    ]


def _bound(r: Mapping[str, Any], which: str) -> Any:
    """A ratio; "≤ x" when the baseline never saturated (its true ceiling is higher)."""
    ratio = r["ratios"][which]
    if ratio is None or r["ratios"][f"{which}_baseline_saturated"]:
        return ratio
    return f"≤ {ratio:.3f} (baseline not saturated)"


def verdicts(f: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for t in TARGETS:
        value = f.get(t.key)
        status, by = "n/a", None
        if value is not None:
            status = "pass" if t.met(float(value)) else "MISS"
            by = None if status == "pass" else round(float(value) / t.limit, 3)
            if status == "pass" and f.get(f"{t.key}_upper_bound"):
                status = "pass? (the baseline never saturated: the true ratio is lower)"
        out.append(
            {
                "target": t.label,
                "figure": t.key,
                "measured": value,
                "limit": t.limit,
                "status": status,
                "measured_over_limit": by,
            }
        )
    return out


def _load(machine: Mapping[str, Any], when: str) -> str:
    values = machine.get(f"load_average_at_{when}") or ()
    return "/".join(f"{v:.2f}" for v in values) or "?"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return " / ".join(_fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(r: Mapping[str, Any]) -> str:
    f = r["figures"]
    lines = [
        f"# Bridge benchmark — {r['profile']} run",
        "",
        f"`{r['command']}` · {r['started']} · {r['machine']['cpus']} CPUs "
        f"({r['machine']['cpu']}) · Python {r['machine']['python']} · "
        f"SQLite {r['machine']['sqlite']} · took {r['duration_s']} s · load average "
        f"{_load(r['machine'], 'start')} at start, {_load(r['machine'], 'end')} at end",
        "",
        f"**Correctness: {'OK' if not r['failures'] else 'FAILURE'}**"
        + "".join(f"\n- {x}" for x in r["failures"]),
        "",
        "| scenario | figure | measured | unit |",
        "| --- | --- | ---: | --- |",
    ]
    every = rows(r, f) + postgres_rows(r)
    lines += [f"| {s} | {n} | {_fmt(v)} | {u} |" for s, n, v, u in every]
    lines += [
        "",
        "## Targets (reported, not asserted)",
        "",
        "| target | measured | result |",
        "| --- | ---: | --- |",
    ]
    for v in r["targets"]:
        extra = f" ({v['measured_over_limit']}× the limit)" if v["measured_over_limit"] else ""
        lines.append(f"| {v['target']} | {_fmt(v['measured'])} | {v['status']}{extra} |")
    if str(r["bot"].get("status", "")).startswith("skipped"):
        lines += ["", f"**Scenario 4 (bot) {r['bot']['status']}**"]
    for title, steps in _series(r):
        lines += ["", f"## {title}", "", *_step_table(steps)]
    if r["bot"].get("steps"):
        lines += ["", "## Bot, new citizens to an FAQ answer (scenario 4)", "", *_bot_table(r)]
    notes = list(r["notes"])
    counts = r.get("fakes_counts")
    if counts:
        notes.append(
            f"The fake Rocket.Chat stored {counts['rc_received']:,} visitor messages from "
            f"{counts['rc_message_posts']:,} livechat/message posts (a difference is re-sends "
            f"refused as duplicates); {counts['rc_failed']:,} answers were 429/5xx."
        )
    lines += ["", "## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def _series(r: Mapping[str, Any]) -> list[tuple[str, Sequence[Mapping[str, Any]]]]:
    b, base = r["bridge"], r["baseline"]
    return [
        (
            "Bridge, citizen → agent (scenarios 1 and 2)",
            [b["citizen_to_agent"]["fixed"], *b["citizen_to_agent"]["steps"]],
        ),
        (
            "Bridge, agent → citizen (scenario 3)",
            [b["agent_to_citizen"]["fixed"], *b["agent_to_citizen"]["steps"]],
        ),
        (
            "Bridge, agent → citizen with Meta's status webhooks (scenario 3+)",
            [
                b["agent_to_citizen_statuses"]["fixed"],
                *b["agent_to_citizen_statuses"]["steps"],
            ],
        ),
        ("Bare aiohttp, acknowledge only (scenario 5)", base["ack"]["steps"]),
        (
            "Bare aiohttp, forward to Rocket.Chat (scenario 5)",
            [base["forward"]["fixed"], *base["forward"]["steps"]],
        ),
    ]


def _marks(step: Mapping[str, Any]) -> str:
    refined = " (refined)" if step.get("refined") else ""
    return refined + (" (run again below, not counted)" if step.get("superseded") else "")


def _step_table(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    out = [
        "| offered/s | acked/s | ack p50/p99 ms | delivered/s | delivery p50/p99 ms "
        "| check | keeps up | CPU s/1k | server / fakes / loadgen CPU |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for s in steps:
        d = s.get("delivery")
        a, c = s["ack_latency"], s["cpu"]
        keeps = d["keeps_up"] if d else s["keeps_up"]
        out.append(
            f"| {s['offered_rate']:g}{_marks(s)} "
            f"| {s['ack_rate']:,.1f} | {_fmt((a['p50_ms'], a['p99_ms']))} "
            f"| {_fmt(d['rate']) if d else '—'} "
            f"| {_fmt((d['latency']['p50_ms'], d['latency']['p99_ms'])) if d else '—'} "
            f"| {('ok' if d['check']['ok'] else 'FAILED') if d else '—'} "
            f"| {'yes' if keeps else 'no'} | {_fmt(c['server_s_per_1000'])} "
            f"| {c['server_util']:.2f} / {c['fakes_util']:.2f} / {c['loadgen_util']:.2f} |"
        )
    return out


def _bot_table(r: Mapping[str, Any]) -> list[str]:
    out = [
        "| citizens/s | webhooks | replies/s (steady) | turn p50/p99 ms | check | keeps up "
        "| CPU s/1k replies |",
        "| ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for s in r["bot"]["steps"]:
        t = s["turn_latency"]
        out.append(
            f"| {s['citizens_per_s']:g} | {s['webhooks']:,} | {_fmt(s['replies_rate'])} "
            f"| {_fmt((t['p50_ms'], t['p99_ms']))} | {'ok' if s['check']['ok'] else 'FAILED'} "
            f"| {'yes' if s['keeps_up'] else 'no'} | {_fmt(s['cpu_s_per_1000_replies'])} |"
        )
    return out


def write(r: Mapping[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{r['profile']}-{r['started'].replace(':', '').replace('-', '')[:15]}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(r, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(r), encoding="utf-8")
    for name, path in (("latest.json", json_path), ("latest.md", md_path)):
        (out / name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return json_path, md_path
