"""The PostgreSQL backend of the storage port, for several bridge replicas on one
database (issue #11). asyncpg, a connection pool; each event is its own transaction with
its conversation locked (FOR UPDATE), so replicas serialise per conversation in the
database; claims take free lanes with FOR UPDATE SKIP LOCKED under a lease; LISTEN/NOTIFY
wakes the other replicas' outboxes (each still polls); the reconciler's leader holds an
advisory lock (lead())."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import asyncpg
import structlog

from bridge.core.ordering import KeyedLock
from bridge.core.privacy import AuditEntry, Visitor
from bridge.core.storage import (
    Applied,
    ByKey,
    Claim,
    Claimed,
    Event,
    Failed,
    Find,
    HandOff,
    Outcome,
    Settled,
    Settlement,
    StorageUnavailable,
)
from bridge.store.errors import StoreError
from bridge.store.postgres import privacy, schema
from bridge.store.postgres.tx import PgTx, numbered
from bridge.store.reads import Reads
from bridge.store.rows import in_batches

Clock = Callable[[], float]
T = TypeVar("T")

log = structlog.get_logger("bridge.store.postgres")

# The server or the network, not the statement: the sender must retry later.
UNAVAILABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.DiskFullError,
    asyncpg.OperatorInterventionError,  # admin or crash shutdown, a failover
    asyncpg.InsufficientResourcesError,
)
RETRIES = 4  # a deadlock victim's transaction, again
GIVE_BACK_TIMEOUT = 2.0  # seconds a failing apply waits to release its claims (_give_back)


CHANNEL = "bridge_outbox"  # NOTIFY channel: outbox work was queued
# Another replica's NOTIFYs wake this one's outbox at most this often: the replica that
# queued the work claims it itself at once; another replica is needed only when it
# cannot (no free slot, or it died right after the commit), so one claim per window is
# enough, instead of one wasted claim transaction per message and replica.
NOTIFY_COALESCE = 0.1


LEAD_HEARTBEAT = 30.0  # seconds between two checks of a leader's lock connection
# PostgreSQL's own settings for the lock connection's socket (seconds, as strings): a
# leader cut off is noticed by the server within idle + interval x count = 60 s.
LOCK_KEEPALIVES = {
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}
LEAD_TIMEOUT = 10.0  # an answer slower than this: the connection is taken as lost


async def _heartbeat(conn: asyncpg.Connection) -> None:
    """Ends (with an error) when the connection no longer answers: asyncpg sets no TCP
    keepalive, so a silent network cut would otherwise go unnoticed for hours."""
    while True:
        await asyncio.sleep(LEAD_HEARTBEAT)
        async with asyncio.timeout(LEAD_TIMEOUT):
            await conn.fetchval("SELECT 1")


def _then(call: Callable[[], None]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("store.leader_heartbeat_failed", error=type(task.exception()).__name__)
        call()

    return done


def lock_key(schema: str, role: str) -> int:
    """A stable 63-bit advisory lock key for a role of the bridge whose tables are in
    `schema`: advisory locks are per database, and two bridges (a test and a production
    one, two cities) may share a database in different schemas."""
    return int.from_bytes(hashlib.sha256(f"bridge:{schema}:{role}".encode()).digest()[:8]) >> 1


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's connections never change their session (no SET, LISTEN or session
    advisory lock: watch() and lead() use connections of their own; migrations unlock),
    so asyncpg's reset query on every release, one more round trip per transaction, is
    skipped. asyncpg still rolls back a transaction left open before calling this."""


def _order_key(find: Find) -> object:
    """Events that find their conversation the same way, in this process, keep their order."""
    return find.key if isinstance(find, ByKey) else find


class PostgresStore(Reads):
    # `counter` holds what a replica of an earlier release counted, `counter_slot` the rest.
    COUNTERS = (
        "(SELECT day, name, label, value FROM counter"
        " UNION ALL SELECT day, name, label, value FROM counter_slot)"
    )

    def __init__(
        self, pool: asyncpg.Pool, clock: Clock, url: str, connect_options: dict[str, Any]
    ) -> None:
        self._pool = pool
        self._url = url
        self._connect_options = connect_options
        self._clock = clock
        self._claims = itertools.count(1)
        self._origin = secrets.token_hex(8)  # our own NOTIFYs carry it (watch)
        # Events submitted by this process for one conversation run in the order they came
        # (asyncio.Lock wakes waiters in order); between replicas the row lock orders them.
        self._in_order = KeyedLock()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        clock: Clock = time.time,
        max_size: int = 10,
        server_settings: dict[str, str] | None = None,
    ) -> PostgresStore:
        """Connect, migrate (under an advisory lock), and pool; raises StoreError or OSError.
        `server_settings` (e.g. a search_path) apply to every connection."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=max_size,
                server_settings=server_settings,
                reset=_keep_session,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                await schema.migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, clock, url, {"server_settings": server_settings})

    async def close(self) -> None:
        await self._pool.close()

    async def _run(self, work: Callable[[PgTx], Awaitable[T]]) -> T:
        """One transaction; a cancelled caller rolls it back (asyncpg's context manager).
        A deadlock or serialization failure is PostgreSQL asking for the transaction again
        (its work is pure steps and SQL): retried; if it persists, the caller must retry
        later, like any unavailability (a webhook answers 503 then, never "rejected")."""
        for attempt in range(RETRIES):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    return await work(PgTx(conn, self._clock(), self._origin))
            except asyncpg.TransactionRollbackError as exc:
                log.warning("store.transaction_retried", error=type(exc).__name__)
                if attempt == RETRIES - 1:
                    raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except UNAVAILABLE as exc:
                raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # --- writes -------------------------------------------------------------------------

    async def apply(
        self, events: Sequence[Event], hand_off: HandOff | None = None
    ) -> list[Applied | Failed]:
        """In order, each its own transaction: one that fails rolls back alone. A caller
        cancelled while its COMMIT is under way may leave the claims of its hand-off to
        nobody: they are taken over when their lease runs out, as a dead replica's."""
        results: list[Applied | Failed] = []
        try:
            for event in events:
                try:
                    async with self._in_order(_order_key(event.find)):
                        results.append(await self._run(partial(self._event, event=event,
                                                               hand_off=hand_off)))  # fmt: skip
                except StorageUnavailable:
                    raise
                except Exception as exc:
                    results.append(Failed(exc))
        except BaseException:
            # Unavailable or cancelled part-way: the events already committed are the
            # caller's no more, nor their claims. Given back if the database answers (else
            # they are taken over when their lease runs out, as a dead replica's).
            await asyncio.shield(self._give_back(results))
            raise
        return results

    async def _give_back(self, results: Sequence[Applied | Failed]) -> None:
        claims = [c for r in results if isinstance(r, Applied) for c in r.claims]
        if claims:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(GIVE_BACK_TIMEOUT):
                    await self.release(claims)

    async def _event(self, tx: PgTx, *, event: Event, hand_off: HandOff | None) -> Applied:
        conv = await tx.find(event.find)
        if conv is None and not isinstance(event.find, ByKey):
            return Applied(Outcome.UNKNOWN)
        if event.seen is not None and not await tx.mark_seen(
            event.seen.source, event.seen.external_id
        ):
            return Applied(Outcome.DUPLICATE, conv)
        if conv is None:
            assert isinstance(event.find, ByKey)
            conv = await tx.create(event.find.key, event.find.profile_name)
        decision = event.step(conv)
        if hand_off is not None:
            tx.hand_off_to = (self._token(hand_off.owner), tx.now + hand_off.lease)
        enqueued = await tx.write(conv, decision)
        return Applied(Outcome.APPLIED, decision.conversation, enqueued, tuple(tx.claims))

    async def record_rejected(self, source: str, reason: str, body: bytes) -> None:
        await self._run(lambda tx: tx.reject(source, reason, body))

    async def claim(self, owner: str, limit: int, lease: float) -> Claimed:
        token = self._token(owner)

        async def unit(tx: PgTx) -> Claimed:
            claims, set_aside = await tx.claim(token, limit, tx.now + lease)
            return Claimed(claims, await tx.next_due_at(), set_aside)

        return await self._run(unit)

    async def settle(self, settlement: Settlement) -> Settled:
        token = self._token(settlement.claim.lease.rsplit("/", 1)[0])
        return await self._run(lambda tx: tx.settle(settlement, token))

    def _token(self, owner: str) -> str:
        return f"{owner}/{next(self._claims)}"

    async def release(self, claims: Sequence[Claim]) -> None:
        await self._run(lambda tx: tx.release(claims))

    async def maintain(self, every: float = 60.0) -> None:
        """PostgreSQL keeps itself (autovacuum); this only notices a lost server early."""
        while True:
            await asyncio.sleep(every)
            await self.check_writable()

    async def watch(self, wake: Callable[[], None]) -> None:
        """LISTEN on a connection of its own: every transaction that queues outbox work
        NOTIFYs (delivered at its commit), so a replica delivers what another queued
        without waiting for its next poll. Our own NOTIFYs are ignored (the outbox that
        queued the work was woken in-process), the others' coalesced (NOTIFY_COALESCE).
        A lost connection ends this with an error and the supervisor starts it again;
        the outbox polls meanwhile."""
        conn = await asyncpg.connect(self._url, **self._connect_options)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        loop = asyncio.get_running_loop()
        pending: list[asyncio.TimerHandle] = []

        def fire() -> None:
            pending.clear()
            wake()

        def heard(_conn: object, _pid: int, _channel: str, origin: str) -> None:
            if origin != self._origin and not pending:
                pending.append(loop.call_later(NOTIFY_COALESCE, fire))

        try:
            await conn.add_listener(CHANNEL, heard)
            await lost.wait()
            raise StorageUnavailable("the LISTEN connection was lost")
        finally:
            for handle in pending:
                handle.cancel()
            await conn.close()

    @contextlib.asynccontextmanager
    async def lead(self, role: str) -> AsyncIterator[None]:
        """A session advisory lock on a connection of its own: PostgreSQL releases it when
        the leader's connection ends (a killed replica's socket closes), and the next
        replica waiting here takes over. If that connection is lost while this replica
        leads (a restarted server, a network cut: a heartbeat notices a silent one),
        another may lead already: the work inside is cancelled and StorageUnavailable
        raised, so the supervisor starts it again, waiting for the lock."""
        conn = await asyncpg.connect(self._url, **self._lock_connect_options())
        task = asyncio.current_task()
        assert task is not None
        state = {"leading": False, "lost": False}

        def dropped(_conn: object = None) -> None:
            # asyncpg calls this through call_soon: it may come after the work has left
            # on its own; cancelling then would hit whatever the task runs next.
            if state["leading"]:
                state["leading"] = False
                state["lost"] = True
                task.cancel()

        heartbeat: asyncio.Task[None] | None = None
        try:
            schema = await conn.fetchval("SELECT current_schema()")
            await conn.execute("SELECT pg_advisory_lock($1)", lock_key(schema, role))
            log.info("store.leading", role=role)
            state["leading"] = True
            conn.add_termination_listener(dropped)
            heartbeat = asyncio.create_task(_heartbeat(conn))
            heartbeat.add_done_callback(_then(dropped))
            try:
                yield
            except asyncio.CancelledError:
                if state["lost"] and task.uncancel() == 0:
                    raise StorageUnavailable(f"lost the {role} leadership's connection") from None
                raise
        finally:
            state["leading"] = False  # first, before any await (see dropped)
            conn.remove_termination_listener(dropped)
            if heartbeat is not None:
                heartbeat.cancel()
            # The lock goes with the session; a connection that stopped answering would
            # hold a graceful close up for good.
            if not state["lost"]:
                with contextlib.suppress(Exception):  # never in place of the work's own error
                    await conn.close(timeout=LEAD_TIMEOUT)
            if not conn.is_closed():
                conn.terminate()

    def _lock_connect_options(self) -> dict[str, Any]:
        """The leader's connection asks the server to probe it (TCP keepalives, server
        settings of that session): after a network cut no FIN reaches the server, which
        would hold the dead leader's advisory lock until the operating system's default
        keepalive gives up, about two hours, and no replica could lead meanwhile."""
        settings = dict(self._connect_options.get("server_settings") or {})
        settings.update(LOCK_KEEPALIVES)
        return {**self._connect_options, "server_settings": settings}

    async def check_writable(self) -> None:
        """A transaction on a primary (a replica in recovery cannot take writes)."""

        async def probe(tx: PgTx) -> None:
            if await tx.conn.fetchval("SELECT pg_is_in_recovery()"):
                raise StorageUnavailable("the server is a read-only standby")

        await self._run(probe)

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
        try:
            async with self._pool.acquire() as conn:
                return list(await conn.fetch(numbered(sql), *args))
        except UNAVAILABLE as exc:
            raise StorageUnavailable(f"{type(exc).__name__}: {exc}") from exc
