"""The driver: starts every process, runs the scenarios in order, writes the report."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sqlite3
import tempfile
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench import botrun, bridgeproc, config, cost, procs, report, scenarios
from bench.config import Profile
from bench.harness import Harness

NOTES = [
    "Every process (fakes, bridge, baseline, load generator) shares the same CPUs: a figure "
    "is the system's, and the server/fakes/loadgen CPU columns (1.00 = one core busy) show "
    "who ran out first.",
    "Bridge settings: production defaults (JSON logs at info, SQLite WAL with "
    "synchronous=FULL on disk) except BRIDGE_RECONCILE_SECONDS=0: the periodic reconcile "
    "round, which re-reads every open room's history, is not measured.",
    "The fake Graph API sends no status webhooks (Meta sends 2-3 per outbound message, each "
    "one more ingest request for the bridge).",
    "A rate *keeps up* when every request got 200 and answers (arrivals) came at ≥ 95% of "
    "the offered rate; *sustained* is the best such step of the rising series, whose "
    "last steps (marked refined) are taken halfway between the best rate kept up with and "
    "the next one; each conversation's next message waits for the previous "
    "acknowledgement. A step that does not keep up is run once more and counts by its "
    "second run (the first is listed, marked, and counted in no figure): on a shared "
    "machine, another tenant only ever slows a step down. The bridge and the baselines "
    "are measured alike.",
    "Ratios: ingest compares the max acknowledged rates; relay the sustained rates of the "
    "bridge and of the bare forwarder (no store, no queue, no retry), whose series run in "
    "turns, one step of each after the other.",
]


async def run(
    profile: Profile, out: Path, command: str, keep: bool = False, postgres: str = ""
) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    started, t0 = datetime.now(UTC), time.monotonic()
    failures: list[str] = []
    result: dict[str, Any] = {
        "profile": profile.name,
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "machine": _machine(),
        "profile_rates": asdict(profile),
        "workdir": str(workdir),
        "failures": failures,
        "notes": NOTES,
    }
    print(f"bench ({profile.name}): work directory {workdir}", flush=True)
    try:
        async with aiohttp.ClientSession() as session:
            await _scenarios(profile, workdir, session, result, failures, postgres=postgres)
    except Exception as exc:
        failures.append(f"the run stopped: {type(exc).__name__}: {exc}")
        result["traceback"] = traceback.format_exc()
    result["duration_s"] = round(time.monotonic() - t0, 1)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    paths = _write(result, out)
    _print_summary(result, paths)
    if not keep and not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


async def _scenarios(  # noqa: PLR0917 - the run's parts, in order
    profile: Profile,
    workdir: Path,
    session: aiohttp.ClientSession,
    result: dict[str, Any],
    failures: list[str],
    postgres: str = "",
) -> None:
    fakes = await procs.spawn("fakes", ["-m", "bench.fakes"], workdir / "fakes.log", pipe=True)
    baseline: procs.Child | None = None
    try:
        info = await procs.first_line(fakes)
        h = Harness(profile, workdir, session, fakes)
        print("scenarios 1-3: the bridge (scenario 2 in turns with 5's forwarder)", flush=True)
        bridge = await bridgeproc.start(session, workdir, "bridge", info, db=workdir / "bridge.db")
        await h.post("/configure", {"rc_webhook_url": f"{bridge.url}/webhooks/rocketchat"})
        lanes = [config.wa_id(config.WARM_PREFIX, i) for i in range(profile.conversations)]
        try:
            room_of = await scenarios.warm_up(h, bridge.url, lanes, failures)
            baseline = await _start_baseline(h, room_of)
            result["bridge"] = await scenarios.bridge_scenarios(
                h, [bridge], room_of, failures, forwarder=baseline
            )
            forward = result["bridge"].pop("forwarder")
            result["bridge"]["memory"] = bridge.child.memory()
        finally:
            await bridge.child.stop()
            await h.post("/configure", {"rc_webhook_url": None})
        result["bridge"]["startup_s"] = bridge.startup_s
        result["bridge"]["log"] = bridgeproc.log_summary(bridge.child)
        if postgres:
            print("scenarios 1-3 again: the bridge on PostgreSQL", flush=True)
            result["postgres"] = await _on_postgres(h, session, info, postgres, failures)
        print("scenario 5: bare aiohttp baseline (its forwarder ran beside scenario 2)", flush=True)
        result["baseline"] = await scenarios.baseline_scenarios(
            h, baseline, room_of, failures, forward
        )
        result["ratios"] = scenarios.ratios(result["bridge"], result["baseline"])
        print("scenario 4: bot", flush=True)
        result["bot"] = await botrun.scenario(h, failures)
        if str(result["bot"]["status"]).startswith("skipped"):
            print(f"\n!!! SCENARIO 4 (BOT) {result['bot']['status']}\n", flush=True)
        print("scenario 6: cost with a big store", flush=True)
        result["stored"] = await cost.scenario(h, failures)
        result["fakes_counts"] = await h.get("/counts")
    finally:
        if baseline is not None:
            await baseline.stop()
        await fakes.stop()


async def _on_postgres(
    h: Harness,
    session: aiohttp.ClientSession,
    info: dict[str, Any],
    url: str,
    failures: list[str],
) -> dict[str, Any]:
    """The same relay scenarios with BRIDGE_DATABASE_URL, in a schema made for the run: one
    replica, then two on the same database with the requests alternating between them."""
    schema = f"bench_{int(time.time())}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    database_url = f"{url}?search_path={schema}"
    try:
        bridge = await bridgeproc.start(
            session, h.workdir, "bridge-pg", info, db=h.workdir / "unused.db",
            database_url=database_url,
        )  # fmt: skip
        await h.post("/configure", {"rc_webhook_url": f"{bridge.url}/webhooks/rocketchat"})
        lanes = [config.wa_id(config.POSTGRES_PREFIX, i) for i in range(h.profile.conversations)]
        try:
            room_of = await scenarios.warm_up(h, bridge.url, lanes, failures)
            found = await scenarios.bridge_scenarios(h, [bridge], room_of, failures)
            found["memory"] = bridge.child.memory()
            found["startup_s"] = bridge.startup_s
            print("scenarios 1-3 again: two replicas on PostgreSQL", flush=True)
            found["two_replicas"] = await _two_replicas(h, session, info, bridge, database_url,
                                                        room_of, failures)  # fmt: skip
        finally:
            await bridge.child.stop()
            await h.post("/configure", {"rc_webhook_url": None})
        return found
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def _two_replicas(  # noqa: PLR0917 - the run's parts
    h: Harness,
    session: aiohttp.ClientSession,
    info: dict[str, Any],
    first: bridgeproc.Bridge,
    database_url: str,
    room_of: dict[str, str],
    failures: list[str],
) -> dict[str, Any]:
    """A second replica beside the first, on the same conversations; scenario 3+ is left
    out (the fake Graph sends its status webhooks to one URL)."""
    second = await bridgeproc.start(
        session, h.workdir, "bridge-pg-2", info, db=h.workdir / "unused-2.db",
        database_url=database_url,
    )  # fmt: skip
    try:
        return await scenarios.bridge_scenarios(h, [first, second], room_of, failures,
                                                statuses=False)  # fmt: skip
    finally:
        await second.child.stop()


async def _start_baseline(h: Harness, room_of: dict[str, str]) -> procs.Child:
    """The bare aiohttp server, on the warmed-up conversations' rooms."""
    rooms_file = h.workdir / "rooms.json"
    tokens = {r["wa_id"]: r["token"] for r in await h.get("/rooms")}
    rooms_file.write_text(json.dumps({w: [tokens[w], rid] for w, rid in room_of.items()}))
    baseline = await procs.spawn(
        "baseline",
        ["-m", "bench.baseline", "--rooms", str(rooms_file), "--rc", str(h.fakes.info["rc"])],
        h.workdir / "baseline.log",
        pipe=True,
    )
    try:
        await procs.first_line(baseline)
    except BaseException:
        await baseline.stop()
        raise
    return baseline


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "load_average_at_start": os.getloadavg(),
        "cpus": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiohttp": aiohttp.__version__,
    }


def _write(result: dict[str, Any], out: Path) -> tuple[Path, Path | None]:
    try:
        result["figures"] = report.figures(result)
        result["targets"] = report.verdicts(result["figures"])
        json_path, md_path = report.write(result, out)
        return json_path, md_path
    except (KeyError, TypeError) as exc:  # a scenario is missing: keep the raw results
        result["failures"].append(f"incomplete results ({type(exc).__name__}: {exc})")
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"bench-{result['profile']}-incomplete.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
        return path, None


def _print_summary(result: dict[str, Any], paths: tuple[Path, Path | None]) -> None:
    print("", flush=True)
    for t in result.get("targets", []):
        extra = f" ({t['measured_over_limit']}× the limit)" if t["measured_over_limit"] else ""
        print(f"  target {t['target']:<44} measured {t['measured']!s:>10}  {t['status']}{extra}")
    if result["failures"]:
        print("\n" + "=" * 72 + "\nFAILURE: the results are not trustworthy:")
        for failure in result["failures"]:
            print(f"  - {failure}")
        print(f"work directory kept: {result['workdir']}\n" + "=" * 72)
    else:
        print("\ncorrectness: OK (nothing lost, nothing duplicated, order kept)")
    print(f"results: {paths[0]}" + (f" and {paths[1]}" if paths[1] else ""), flush=True)
