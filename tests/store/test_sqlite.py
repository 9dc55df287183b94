"""What only the SQLite backend promises: its file, pragmas, migrations and group commit."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.core.decide import Decision
from bridge.core.model import ConversationKey, SendText, WaId
from bridge.core.storage import (
    Applied,
    ByKey,
    Claim,
    Event,
    HandOff,
    Outcome,
    Seen,
    StorageUnavailable,
)
from bridge.store import SqliteStore, StoreError
from bridge.store.sqlite import writer
from bridge.store.sqlite.schema import migrations

KEY = ConversationKey("1122334455667", WaId("5511912345678"))


def hello(n: int) -> Event:
    def step(conv):  # type: ignore[no-untyped-def]
        return Decision(replace(conv, bot_state=str(n)), (SendText(f"oi {n}"),))

    return Event(ByKey(KEY), step, Seen("whatsapp", f"wamid.{n}"))


async def test_migrations_set_user_version_and_pragmas(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "bridge.db")
    await store.close()
    with sqlite3.connect(tmp_path / "bridge.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations())
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
    with pytest.raises(StoreError, match="newer than this bridge"):
        await SqliteStore.open(path)


async def test_a_database_of_the_previous_release_is_migrated(tmp_path: Path) -> None:
    """0001 and 0002 shipped before the outbox had leases; their rows must stay usable."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for number, _name, sql in migrations()[:2]:
            conn.executescript(f"{sql}\nPRAGMA user_version = {number};")
        conn.execute(
            "INSERT INTO conversation (id, phone_number_id, wa_id, updated_at) VALUES (1, ?, ?, 0)",
            (KEY.phone_number_id, KEY.wa_id),
        )
        conn.execute(
            "INSERT INTO outbox (conversation_id, destination, command, next_attempt_at,"
            ' created_at) VALUES (1, \'whatsapp\', \'{"kind": "SendText", "text": "x"}\', 0, 0)'
        )
    store = await SqliteStore.open(path)
    try:
        [claim] = (await store.claim("me", 5, 60)).claims
        assert claim.row.command == SendText("x")
    finally:
        await store.close()


async def test_indexes_nothing_reads_are_gone_and_lookups_use_the_key(tmp_path: Path) -> None:
    """Migration 0009: each relayed message wrote them; what they served uses others."""
    store = await SqliteStore.open(tmp_path / "bridge.db")
    await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "bridge.db")) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        plans = [
            " ".join(str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("x",)))
            for sql in (
                "SELECT excerpt FROM message_link WHERE whatsapp_id = ? ORDER BY created_at",
                "SELECT COUNT(*) FROM outbox WHERE state = 'dead' AND created_at < ?",
            )
        ]
    assert not {"outbox_due", "message_link_wa"} & names
    assert "outbox_lane" in names
    assert "USING PRIMARY KEY (whatsapp_id=?)" in plans[0]
    assert "USING INDEX outbox_lane (state=?)" in plans[1]


async def test_leases_of_a_crashed_process_are_cleared_when_the_file_is_reopened(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / "b.db")
    await store.apply([hello(1)])
    held = (await store.claim("crashed", 5, lease=600)).claims
    await store.close()
    reopened = await SqliteStore.open(tmp_path / "b.db")
    try:
        [claim] = (await reopened.claim("restarted", 5, 600)).claims
        assert claim.row.id == held[0].row.id
    finally:
        await reopened.close()


async def test_a_caller_gone_once_its_event_ran_gives_the_lane_it_was_handed_back(
    tmp_path: Path,
) -> None:
    """A webhook whose handler is cancelled after its event ran: the event is committed
    all the same, and the lane leased to the hand-off is free again at once, not when the
    lease runs out (nobody would deliver it before)."""
    store = await SqliteStore.open(tmp_path / "b.db")
    try:
        caller = asyncio.create_task(store.apply([hello(1)], HandOff("me", 600)))
        await asyncio.sleep(0)  # the unit ran; its COMMIT is still to come
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        claims: list[Claim] = []
        for _ in range(20):  # the release is the next transaction
            claims = list((await store.claim("other", 5, 600)).claims)
            if claims:
                break
        assert [c.row.command for c in claims] == [SendText("oi 1")]
    finally:
        await store.close()


async def test_concurrent_transactions_share_commits(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "b.db")
    try:
        results = await store.apply([hello(n) for n in range(200)])
        writer = store._writer
        assert all(isinstance(r, Applied) and r.outcome is Outcome.APPLIED for r in results)
        assert writer.units >= 200
        assert writer.commits < writer.units / 2
    finally:
        await store.close()


def _insert(n: int, *, then_fail: bool = False) -> writer.Unit:
    def unit(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
        if then_fail:
            raise RuntimeError(f"unit {n} failed after writing")
        return n

    return unit


async def _numbers(store: SqliteStore) -> list[int]:
    rows = await store._writer.run(lambda conn: conn.execute("SELECT n FROM t").fetchall())
    return sorted(row[0] for row in rows)


async def test_small_commits_leave_the_loops_thread_while_the_disk_is_slow(
    tmp_path: Path,
) -> None:
    """A small transaction is committed on the event loop's thread only while the last
    COMMIT was quick: a slow disk would stall every webhook behind each fsync."""
    target = tmp_path / "w.db"
    disk = {"stall": 0.05}
    threads: list[str] = []

    class SlowDisk(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "COMMIT":
                threads.append(threading.current_thread().name)
                time.sleep(disk["stall"])  # what a slow fsync costs the thread that waits
            return super().execute(sql, *args)

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, factory=SlowDisk
        )
        conn.execute("PRAGMA synchronous = OFF")  # quick unless stalled, on any disk
        return conn

    here = threading.current_thread().name
    w = writer.Writer(connect)
    await w.start()
    try:
        await w.run(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))  # slow, here
        await w.run(_insert(1))  # after a slow COMMIT: on the helper thread
        disk["stall"] = 0.0
        await w.run(_insert(2))  # quick, but the one before was slow: the helper again
        for n in range(3, 20):  # back here once one was quick (a busy CI host may take two)
            await w.run(_insert(n))
            if threads[-1] == here:
                break
    finally:
        await w.close()
    assert threads[0] == here
    assert threads[1].startswith("sqlite-commit") and threads[2].startswith("sqlite-commit")
    assert threads[-1] == here


async def test_a_failing_unit_is_undone_alone_and_what_ran_before_it_is_kept(
    tmp_path: Path,
) -> None:
    """No savepoint per unit: the transaction is rolled back and the units that ran in it
    run again, also one whose caller has stopped waiting (what ran is committed)."""
    store = await SqliteStore.open(tmp_path / "b.db")
    try:
        await store._writer.run(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))
        first = store._writer.submit(_insert(1))
        first.cancel()  # it already ran, in the transaction still open
        second = store._writer.submit(_insert(2, then_fail=True))
        third = store._writer.submit(_insert(3))
        assert await third == 3
        with pytest.raises(RuntimeError, match="unit 2"):
            await second
        assert await _numbers(store) == [1, 3]
    finally:
        await store.close()


async def test_a_long_run_of_failing_units_fails_each_alone(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "b.db")
    try:
        await store._writer.run(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))
        futures = [store._writer.submit(_insert(n, then_fail=n % 2 == 1)) for n in range(3000)]
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results[1::2])
        assert results[::2] == list(range(0, 3000, 2))
        assert await _numbers(store) == list(range(0, 3000, 2))
    finally:
        await store.close()


async def test_a_full_disk_is_storage_unavailable_and_the_store_recovers(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "b.db")
    try:
        await store.apply([hello(0)])

        def fill(conn: sqlite3.Connection) -> None:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

        await store._writer.run(fill)
        big = [hello(n) for n in range(1, 400)]
        with pytest.raises(StorageUnavailable):
            await store.apply(big)
        await store._writer.run(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823"))
        results = await store.apply([hello(5000)])
        assert isinstance(results[0], Applied) and results[0].outcome is Outcome.APPLIED
        await store.check_writable()
    finally:
        await store.close()


async def test_a_locked_database_is_storage_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the write lock past the wait (a backup gone wrong)."""
    monkeypatch.setattr(writer, "LOCK_WAIT_MS", 50)
    store = await SqliteStore.open(tmp_path / "b.db")
    other = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable):
            await store.check_writable()
        with pytest.raises(StorageUnavailable):
            await store.apply([hello(1)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    await store.check_writable()
    await store.close()


async def test_closing_fails_late_callers_cleanly(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "b.db")
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.apply([hello(1)])
    await asyncio.sleep(0)
