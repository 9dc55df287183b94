"""The SQLite backend of the storage port: one writing connection with group commit
(writer.py) for everything that writes, and an aiosqlite connection for reads that need no
write lock (readiness, the reconciler's room list, reports) and for WAL checkpoints. An
in-memory database has no second connection that could see it, so there the reads go
through the writer too.

SQLite serves one bridge process: leases left by a process that died are cleared when the
next one opens the file."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import structlog

from bridge.core.privacy import AuditEntry, Visitor
from bridge.core.storage import (
    Applied,
    ByKey,
    Claim,
    Claimed,
    Event,
    Failed,
    HandOff,
    Outcome,
    Settled,
    Settlement,
    StorageUnavailable,
)
from bridge.store.reads import Reads
from bridge.store.rows import in_batches
from bridge.store.sqlite import lanes, privacy, schema
from bridge.store.sqlite.tx import Tx
from bridge.store.sqlite.writer import Writer

Clock = Callable[[], float]
T = TypeVar("T")

log = structlog.get_logger("bridge.store.sqlite")


class SqliteStore(Reads):
    def __init__(self, writer: Writer, reader: aiosqlite.Connection | None, clock: Clock) -> None:
        self._writer = writer
        self._reader = reader
        self._clock = clock
        self._claims = itertools.count(1)

    @classmethod
    async def open(
        cls, path: Path | str, *, clock: Clock = time.time, admin: bool = False
    ) -> SqliteStore:
        """Open (creating and migrating) the database; raises StoreError or OSError.

        The daemon clears leases a dead process left; an admin command (`check`,
        `export`, `forget`...) opens beside a running daemon and must not."""
        target = str(path)
        writer = Writer(partial(_open_writer, target, clear_leases=not admin))
        await writer.start()
        reader = None
        if target != schema.MEMORY:
            try:
                reader = await aiosqlite.connect(target, isolation_level=None)
                reader.row_factory = sqlite3.Row
                for pragma in schema.pragmas(read_only=True):
                    await reader.execute(f"PRAGMA {pragma}")
            except BaseException:
                if reader is not None:
                    await reader.close()
                await writer.close()
                raise
        return cls(writer, reader, clock)

    async def close(self) -> None:
        try:
            if self._reader is not None:
                await self._reader.close()
        finally:
            await self._writer.close()

    # --- writes -------------------------------------------------------------------------

    async def apply(
        self, events: Sequence[Event], hand_off: HandOff | None = None
    ) -> list[Applied | Failed]:
        orphaned = self._give_back if hand_off is not None else None
        futures = [
            self._writer.submit(partial(self._event, event, hand_off), orphaned) for event in events
        ]
        results: list[Applied | Failed] = []
        unavailable: StorageUnavailable | None = None
        try:
            for future in futures:
                try:
                    results.append(await future)
                except StorageUnavailable as exc:
                    unavailable = exc
                except Exception as exc:
                    results.append(Failed(exc))
        except asyncio.CancelledError:
            # The caller gave up part-way: the events it will never see give their claims
            # back (those still to commit when they do, through `orphaned`).
            for future in futures:
                if not future.done():
                    future.cancel()
                elif orphaned is not None and not future.cancelled() and not future.exception():
                    orphaned(future.result())
            raise
        if unavailable is not None:
            raise unavailable
        return results

    def _event(self, event: Event, hand_off: HandOff | None, conn: sqlite3.Connection) -> Applied:
        tx = Tx(conn, self._clock())
        conv = tx.find(event.find)
        if conv is None and not isinstance(event.find, ByKey):
            return Applied(Outcome.UNKNOWN)
        if event.seen is not None and not tx.mark_seen(event.seen.source, event.seen.external_id):
            return Applied(Outcome.DUPLICATE, conv)
        if conv is None:
            assert isinstance(event.find, ByKey)
            conv = tx.create(event.find.key, event.find.profile_name)
        decision = event.step(conv)
        if hand_off is not None:
            tx.hand_off_to = (self._token(hand_off.owner), tx.now + hand_off.lease)
        enqueued = tx.write(conv, decision)
        return Applied(Outcome.APPLIED, decision.conversation, enqueued, tuple(tx.claims))

    def _give_back(self, applied: Applied) -> None:
        """The claims of an event whose caller gave up once it had run (committed all the
        same) reach nobody: released in the next transaction, so they are due at once and
        not only when their lease runs out."""
        if not applied.claims:
            return
        claims = applied.claims
        asyncio.get_running_loop().call_soon(self._release_orphans, claims)

    def _release_orphans(self, claims: Sequence[Claim]) -> None:
        try:
            done = self._writer.submit(lambda conn: lanes.release(Tx(conn, self._clock()), claims))
        except StorageUnavailable:  # closed: the next start clears every lease
            return
        done.add_done_callback(_log_failed_release)

    async def record_rejected(self, source: str, reason: str, body: bytes) -> None:
        await self._run(lambda tx: tx.reject(source, reason, body))

    async def claim(self, owner: str, limit: int, lease: float) -> Claimed:
        token = self._token(owner)

        def unit(tx: Tx) -> Claimed:
            claims, set_aside = lanes.claim(tx, token, limit, tx.now + lease)
            return Claimed(claims, lanes.next_due_at(tx), set_aside)

        return await self._run(unit)

    async def settle(self, settlement: Settlement) -> Settled:
        token = self._token(settlement.claim.lease.rsplit("/", 1)[0])
        return await self._run(lambda tx: lanes.settle(tx, settlement, token))

    def _token(self, owner: str) -> str:
        """A lease token: the owner, then a number never used before in this process."""
        return f"{owner}/{next(self._claims)}"

    async def release(self, claims: Sequence[Claim]) -> None:
        await self._run(lambda tx: lanes.release(tx, claims))

    async def maintain(self, every: float = 1.0) -> None:
        """WAL checkpoints on the read connection, beside the writer (PASSIVE: it never
        waits for the writer and the writer never waits for it). Runs until cancelled."""
        while True:
            await asyncio.sleep(every)
            if self._reader is not None:
                await self._reader.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")

    async def watch(self, wake: Callable[[], None]) -> None:
        """One process owns a SQLite file: nobody else queues work."""

    @contextlib.asynccontextmanager
    async def lead(self, role: str) -> AsyncIterator[None]:
        """One process owns a SQLite file: it leads every role."""
        yield

    async def check_writable(self) -> None:
        """A write transaction started and committed empty (nothing reaches the disk)."""
        await self._run(lambda tx: None)

    async def _run(self, work: Callable[[Tx], T]) -> T:
        clock = self._clock
        return await self._writer.run(lambda conn: work(Tx(conn, clock())))

    # --- personal data (bridge.core.privacy) ---------------------------------------------

    async def export(self, wa_ids: Sequence[str]) -> dict[str, Any]:
        return await self._run(lambda tx: privacy.export(tx.conn, wa_ids))

    async def visitors(self, wa_ids: Sequence[str]) -> list[Visitor]:
        return await self._run(lambda tx: privacy.visitors(tx.conn, wa_ids))

    async def forget(self, wa_ids: Sequence[str]) -> Mapping[str, int]:
        return await self._run(lambda tx: privacy.forget(tx.conn, wa_ids))

    async def purge(self, before: float) -> Mapping[str, int]:
        return await in_batches(lambda: self._run(lambda tx: privacy.purge_batch(tx.conn, before)))

    async def audit(self, entry: AuditEntry, wa_id: str | None = None) -> None:
        await self._run(lambda tx: privacy.audit(tx.conn, entry, wa_id))

    async def audit_log(self, limit: int) -> list[AuditEntry]:
        return await self._run(lambda tx: privacy.audit_log(tx.conn, limit))

    # --- reads --------------------------------------------------------------------------

    async def _read(self, sql: str, *args: object) -> list[Any]:
        if self._reader is None:
            return await self._writer.run(lambda conn: conn.execute(sql, args).fetchall())
        try:
            return list(await self._reader.execute_fetchall(sql, args))
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(str(exc)) from exc


def _log_failed_release(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("store.release_failed", error=str(done.exception()))


def _open_writer(path: str, *, clear_leases: bool) -> sqlite3.Connection:
    conn = schema.connect(path)
    if clear_leases:
        lanes.clear_leases(conn)
    return conn
