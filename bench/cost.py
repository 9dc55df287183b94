"""Scenario 6, the part that needs its own store: memory and start-up with N conversations.

The database is created by the bridge's own migrations (open_store), then filled with
direct SQL in that schema: N conversations in the bot state without a room (contacts that
ended), each with the dedupe row of its last message, and the outbox id sequence where
that history left it. A bridge started on it is timed
from spawn to the first 200 of /healthz (the median of `startups` starts), its resident
memory read once it idles, then again after a burst of messages from stored citizens
(each opens a room and is relayed).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from bench import bridgeproc, checks, config
from bench.harness import Harness
from bench.payloads import expected_lanes, parse_tagged, plan, whatsapp_job
from bridge.store import open_store

BURST_RATE = 200.0
OUTBOX_PER = 10  # outbox rows a stored conversation has gone through


async def populate(db: Path, count: int) -> float:
    """Create the store with `count` conversations; seconds it took."""
    started = time.monotonic()
    store = await open_store(db)
    await store.close()
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO conversation (phone_number_id, wa_id, profile_name, state,"
            " last_citizen_at, updated_at) VALUES (?, ?, ?, 'bot', ?, ?)",
            (
                (
                    config.PHONE_NUMBER_ID,
                    config.wa_id(config.STORED_PREFIX, i),
                    f"Cidadão {i}",
                    now - 86400 - i,
                    now - 86400 - i,
                )
                for i in range(count)
            ),
        )
        conn.executemany(
            "INSERT INTO seen_event (source, external_id, seen_at) VALUES ('whatsapp', ?, ?)",
            ((f"wamid.stored.{i}", now - 86400 - i) for i in range(count)),
        )
        # The outbox ids such a history leaves behind. It matters: the bridge derives the
        # Rocket.Chat `_id` of a room's transcript from its outbox row id, so a store whose
        # ids start again at 1 next to a Rocket.Chat that has seen them (here, the main
        # bridge's rooms in the same fake) gets its transcripts refused as duplicates,
        # which the bridge takes for "already delivered": they are lost.
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (count * OUTBOX_PER,)
        )
    conn.close()
    return round(time.monotonic() - started, 2)


async def scenario(h: Harness, failures: list[str]) -> dict[str, Any]:
    p = h.profile
    db = h.workdir / "stored.db"
    filled = await populate(db, p.stored)
    print(f"  store: {p.stored:,} conversations written in {filled} s", flush=True)
    startups = []
    for n in range(p.startups):
        bridge = await bridgeproc.start(
            h.session, h.workdir, f"bridge-stored-{n}", h.fakes.info, db=db
        )
        startups.append(bridge.startup_s)
        if n < p.startups - 1:
            await bridge.child.stop()
    await asyncio.sleep(1.0)  # let the start-up reconcile and probe finish
    idle = bridge.child.memory()
    try:
        burst = await _burst(h, bridge, failures)
        after = bridge.child.memory()
    finally:
        await bridge.child.stop()
    startup = round(statistics.median(startups), 3)
    print(
        f"  start-up with {p.stored:,} conversations: {startup} s (runs {startups}); RSS idle "
        f"{idle.get('rss_mb')} MB, after {p.burst} messages {after.get('rss_mb')} MB "
        f"(peak {after.get('hwm_mb')} MB)",
        flush=True,
    )
    return {
        "conversations": p.stored,
        "db_bytes": db.stat().st_size,
        "populate_s": filled,
        "startup_s": startup,
        "startup_runs_s": startups,
        "memory_idle": idle,
        "memory_after_burst": after,
        "burst": burst,
    }


async def _burst(h: Harness, bridge: bridgeproc.Bridge, failures: list[str]) -> dict[str, Any]:
    """`burst` stored citizens write again; each message must reach a new room once."""
    count = h.profile.burst
    step = max(1, h.profile.stored // count)
    lanes = [config.wa_id(config.STORED_PREFIX, i * step) for i in range(count)]
    planned = plan("stored", BURST_RATE, count / BURST_RATE, lanes)
    job = whatsapp_job(
        [f"{bridge.url}/webhooks/whatsapp"], "stored", planned, h.profile.connections
    )
    since = h.mark("rc")
    load = await h.load(job, "stored")

    def ours(record: list[Any]) -> bool:
        parsed = parse_tagged(str(record[3]))
        return parsed is not None and parsed[0] == "stored"

    arrivals = await h.wait_for("rc", since, ours, len(planned))
    opened = await h.refresh_rooms()
    verdict = checks.check(expected_lanes(planned), h.tagged(arrivals))
    firsts = h.first_messages(since, {opened[lane] for lane in lanes if lane in opened})
    bad = len(lanes) - sum(1 for n in firsts.values() if n == 1)
    if len(load.ok) != len(planned) or not verdict.ok or bad:
        failures.append(
            f"stored-conversation burst: {len(load.ok)}/{len(planned)} acknowledged, "
            f"{verdict.describe()}, {bad} new rooms without exactly one transcript"
        )
    return {"messages": len(planned), "check": verdict.as_dict(), "rooms_without_transcript": bad}
