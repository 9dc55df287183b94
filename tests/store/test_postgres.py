"""What only PostgreSQL does, with two stores (two replicas) on one schema: migrations run
once when both start together, a queued row wakes the other replica (LISTEN/NOTIFY), one
leads the reconciler until its session ends, and a dead replica's lease is taken over
while its late settlement is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from bridge.core.decide import Decision
from bridge.core.model import ConversationKey, OpenRoom, SendText, WaId
from bridge.core.storage import (
    Applied,
    ByKey,
    Event,
    Finish,
    HandOff,
    Hold,
    Settlement,
    StorageUnavailable,
)
from bridge.store import SqliteStore
from bridge.store.postgres import PostgresStore
from bridge.store.postgres import store as postgres_store
from bridge.store.postgres.schema import migrations
from bridge.store.postgres.store import LOCK_KEEPALIVES, NOTIFY_COALESCE, lock_key
from bridge.supervisor import Supervisor
from tests.store.backends import POSTGRES_URL, fresh_schema

KEY = ConversationKey("1122334455667", WaId("5511912345678"))
Open = Callable[[], Awaitable[PostgresStore]]


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[Open, asyncpg.Connection]]:
    """Opens stores on one fresh schema; the admin connection sees it too."""
    async with fresh_schema("replicas") as name:
        admin = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": name})
        opened: list[PostgresStore] = []

        async def open_one() -> PostgresStore:
            settings = {"search_path": name}
            store = await PostgresStore.open(POSTGRES_URL, server_settings=settings)
            opened.append(store)
            return store

        try:
            yield open_one, admin
        finally:
            for store in opened:
                await store.close()
            await admin.close()


def queue(text: str) -> Event:
    return Event(ByKey(KEY), lambda conv: Decision(conv, (SendText(text),)))


async def test_two_replicas_starting_together_migrate_once(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, admin = replicas
    await asyncio.gather(open_one(), open_one())
    versions = [r[0] for r in await admin.fetch("SELECT version FROM schema_version")]
    assert versions == [number for number, _, _ in migrations()]
    found = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    indexes = {r[0] for r in await admin.fetch(found)}
    assert "outbox_lane" in indexes
    assert "outbox_due" not in indexes  # 0003: written for every message, read by nothing


async def test_work_queued_by_one_replica_wakes_the_other(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, _ = replicas
    first, second = await open_one(), await open_one()
    woken = asyncio.Event()
    watching = asyncio.create_task(second.watch(woken.set))
    await asyncio.sleep(0.2)  # LISTEN is in place
    await first.apply([queue("oi")])
    async with asyncio.timeout(5):
        await woken.wait()
    watching.cancel()
    with pytest.raises(asyncio.CancelledError):
        await watching


async def test_a_replica_ignores_its_own_notifications_and_coalesces_the_others(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, admin = replicas
    first, second = await open_one(), await open_one()
    own, others = asyncio.Event(), [0]
    second_woken = asyncio.Event()

    def other() -> None:
        others[0] += 1
        second_woken.set()

    watching = [asyncio.create_task(first.watch(own.set)), asyncio.create_task(second.watch(other))]
    await asyncio.sleep(0.2)  # LISTEN is in place
    await first.apply([queue("oi")])
    async with asyncio.timeout(5):
        await second_woken.wait()
    await asyncio.sleep(3 * NOTIFY_COALESCE)
    assert not own.is_set()  # its own outbox was woken in-process already
    # Twenty NOTIFYs from elsewhere, all delivered at one commit: one wake-up.
    await admin.execute(
        "SELECT pg_notify('bridge_outbox', 'elsewhere') FROM generate_series(1, 20)"
    )
    await asyncio.sleep(3 * NOTIFY_COALESCE)
    assert others[0] == 2
    for task in watching:
        task.cancel()
    await asyncio.gather(*watching, return_exceptions=True)


async def test_counters_from_many_connections_add_up_to_one_figure(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, admin = replicas
    first, second = await open_one(), await open_one()

    def said(n: int) -> Event:
        key = ConversationKey(KEY.phone_number_id, WaId(f"55119000{n:05d}"))
        return Event(ByKey(key), lambda conv: Decision(conv, counters=(("said", "x"),)))

    # Concurrent transactions on several pooled connections of two replicas.
    await asyncio.gather(*(store.apply([said(n)]) for n in range(40) for store in (first, second)))
    assert [(c.name, c.label, c.value) for c in await first.counters()] == [("said", "x", 80)]
    slots = await admin.fetchval("SELECT COUNT(*) FROM counter_slot")
    assert slots > 1  # the figure lives in several rows: no one row every transaction locks


async def test_a_replica_of_the_previous_release_still_counts_during_a_rolling_upgrade(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, admin = replicas
    store = await open_one()  # migrated to the newest schema
    # The statement the previous release's replica runs, still running beside this one.
    previous = (
        "INSERT INTO counter (day, name, label, value) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (day, name, label) DO UPDATE SET value = counter.value + excluded.value"
    )
    await store.apply([Event(ByKey(KEY), lambda conv: Decision(conv, counters=(("said", ""),)))])
    [record] = await store.counters()
    day = record.day
    await admin.execute(previous, day, "said", "", 2)
    await admin.execute(previous, day, "said", "", 1)
    assert [(c.name, c.value) for c in await store.counters()] == [("said", 4)]


async def test_one_replica_leads_until_its_session_ends(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, admin = replicas
    first, second = await open_one(), await open_one()
    order: list[str] = []
    gone, second_leads = asyncio.Event(), asyncio.Event()

    async def lead(store: PostgresStore, name: str) -> None:
        async with store.lead("reconciler"):
            order.append(name)
            if name == "second":
                second_leads.set()
            await gone.wait()

    leader = asyncio.create_task(lead(first, "first"))
    await asyncio.sleep(0.3)
    follower = asyncio.create_task(lead(second, "second"))
    await asyncio.sleep(0.3)
    assert order == ["first"]  # the second waits
    # The leader's session ends (its process died, or only that connection was cut): the
    # lock goes with it, and a leader still running stops leading at once.
    await end_leader_session(admin, "reconciler")
    async with asyncio.timeout(5):
        await second_leads.wait()
        with pytest.raises(StorageUnavailable, match="leadership"):
            await leader
    assert order == ["first", "second"]
    gone.set()
    await follower


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[asyncpg.Connection]:
    """Every connection asyncpg.connect makes from here on (lead() makes its own)."""
    made: list[asyncpg.Connection] = []
    connect = asyncpg.connect

    async def recorded(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        made.append(await connect(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(asyncpg, "connect", recorded)
    return made


async def test_a_lock_connection_lost_as_the_work_fails_does_not_cancel_what_runs_next(
    replicas: tuple[Open, asyncpg.Connection], connections: list[asyncpg.Connection]
) -> None:
    """asyncpg reports a lost connection through call_soon: the report may come after the
    work has left lead() with its own error; it must not cancel the supervisor's restart."""
    open_one, _ = replicas
    store = await open_one()
    runs, leads_again = 0, asyncio.Event()

    async def reconciler() -> None:
        nonlocal runs
        runs += 1
        async with store.lead("reconciler"):
            if runs == 1:
                connections[-1].terminate()  # the lock connection drops...
                raise StorageUnavailable("the pool failed too")  # ...as the work fails
            leads_again.set()
            await asyncio.sleep(3600)

    supervisor = Supervisor(backoff=0.05)
    supervisor.add("reconciler", reconciler)
    supervisor.start()
    try:
        async with asyncio.timeout(5):
            await leads_again.wait()  # restarted, not cancelled for good
        await asyncio.sleep(0.1)
        assert all(w["healthy"] for w in supervisor.status().values())
    finally:
        await supervisor.stop()


async def test_a_leader_whose_lock_connection_goes_silent_stops_leading(
    replicas: tuple[Open, asyncpg.Connection],
    connections: list[asyncpg.Connection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A network cut without a reset: nothing arrives any more, nothing says so. The
    heartbeat's unanswered query ends the leadership."""
    open_one, _ = replicas
    store = await open_one()
    monkeypatch.setattr(postgres_store, "LEAD_HEARTBEAT", 0.05)
    monkeypatch.setattr(postgres_store, "LEAD_TIMEOUT", 0.2)

    async def lead() -> None:
        async with store.lead("reconciler"):
            # The answers stop reaching us, as on a silently cut network.
            connections[-1]._transport.pause_reading()
            await asyncio.sleep(3600)

    with pytest.raises(StorageUnavailable, match="leadership"):
        async with asyncio.timeout(5):
            await lead()


async def end_leader_session(admin: asyncpg.Connection, role: str) -> None:
    key = lock_key(await admin.fetchval("SELECT current_schema()"), role)
    ended = await admin.fetchval(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
        " AND granted AND classid::bigint = $1 AND objid::bigint = $2",
        key >> 32, key & 0xFFFFFFFF,
    )  # fmt: skip
    assert ended == 1


async def test_a_dead_replicas_lease_is_taken_over_and_its_late_settle_refused(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    open_one, _ = replicas
    first, second = await open_one(), await open_one()
    await first.apply([queue("oi")])
    [claim] = (await first.claim("replica-a", 10, lease=0.3)).claims
    assert (await second.claim("replica-b", 10, lease=60)).claims == []  # leased
    await asyncio.sleep(0.4)  # replica A died mid-delivery: its lease runs out
    [taken] = (await second.claim("replica-b", 10, lease=60)).claims
    assert taken.row.id == claim.row.id
    late = await first.settle(Settlement(claim, Finish()))
    assert not late.held  # refused: B owns the row now
    assert (await second.settle(Settlement(taken, Finish()))).held


async def test_settlements_and_new_messages_racing_leave_no_row_out_of_its_lane(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    """A settlement that empties a lane while an event queues the next row: the row must
    become the head of a lane, not be left pending with none (found in review)."""
    open_one, admin = replicas
    first, second = await open_one(), await open_one()
    await first.apply([queue("0")])
    for n in range(1, 25):
        [claim] = (await first.claim("replica-a", 1, lease=60)).claims
        settled, _ = await asyncio.gather(
            first.settle(Settlement(claim, Finish())), second.apply([queue(str(n))])
        )
        assert settled.held
        orphans = await admin.fetchval(
            "SELECT COUNT(*) FROM outbox o WHERE o.state = 'pending' AND NOT EXISTS"
            " (SELECT 1 FROM lane l WHERE l.conversation_id = o.conversation_id"
            " AND l.destination = o.destination)"
        )
        assert orphans == 0, n


async def test_a_held_settlement_and_a_release_do_not_deadlock(
    replicas: tuple[Open, asyncpg.Connection],
) -> None:
    """Settle locks conversation then lane, as an event that releases held rows does."""
    open_one, _ = replicas
    first, second = await open_one(), await open_one()
    for _ in range(10):
        await first.apply([queue("a")])
        [claim] = (await first.claim("replica-a", 1, lease=60)).claims
        release = Event(ByKey(KEY), lambda conv: Decision(conv, (), release_held=True))
        results = await asyncio.gather(
            first.settle(Settlement(claim, Hold(), step=lambda conv, _p: Decision(conv))),
            second.apply([release]),
            return_exceptions=True,
        )
        assert not any(isinstance(r, BaseException) for r in results), results
        await second.apply([release])  # whichever came first, the row is due again now
        [claimed] = (await first.claim("replica-a", 1, lease=60)).claims
        await first.settle(Settlement(claimed, Finish()))


async def test_counters_contacts_and_lanes_are_written_as_sqlite_writes_them() -> None:
    """One event's counters (repeats included) in one statement, a contact started with
    its values, and an outbox row with its lane in one: the same figures as SQLite's."""
    now = 1_780_000_000.0
    other = ConversationKey(KEY.phone_number_id, WaId("5511987654321"))
    events = [
        Event(ByKey(KEY), lambda conv: Decision(
            conv,
            (OpenRoom("Geral", "transcrito", priority="alta", topic="boleto"), SendText("a")),
            (("contact", ""), ("handoff", "Geral"), ("said", "x"), ("said", "x"), ("said", "")),
        )),
        Event(ByKey(KEY), lambda conv: Decision(
            conv, (SendText("b"), SendText("c")), (("agent_message", ""), ("said", "x"))
        )),
        Event(ByKey(other), lambda conv: Decision(conv, (), (("contact", ""),))),
        Event(ByKey(other), lambda conv: Decision(conv, (), (("ended", "timeout"),))),
    ]  # fmt: skip
    sqlite = await SqliteStore.open(":memory:", clock=lambda: now)
    async with fresh_schema("same") as name:
        settings = {"search_path": name}
        postgres = await PostgresStore.open(
            POSTGRES_URL, clock=lambda: now, server_settings=settings
        )
        try:
            written = []
            for store in (sqlite, postgres):
                applied = await store.apply(events)
                claimed = await store.claim("test", 10, 30)
                written.append((
                    [a.enqueued for a in applied if isinstance(a, Applied)],
                    # Their read orders by day and name only.
                    sorted(await store.counters(), key=lambda c: (c.day, c.name, c.label)),
                    await store.contacts(0, 4e9),
                    sorted((c.row.destination, c.row.command) for c in claimed.claims),
                ))  # fmt: skip
        finally:
            await postgres.close()
            await sqlite.close()
    for sqlite_part, postgres_part in zip(*written, strict=True):
        assert sqlite_part == postgres_part
    enqueued, counters, contacts, heads = written[1]
    assert enqueued == [2, 2, 0, 0]
    assert [(c.name, c.label, c.value) for c in counters if c.name == "said"] == [
        ("said", "", 1),
        ("said", "x", 3),
    ]
    assert [(c.topic, c.department, c.priority, c.outcome) for c in contacts] == [
        ("boleto", "Geral", "alta", "handed_off"),
        ("", "", "", "abandoned_bot"),
    ]
    assert len(heads) == 2  # one lane per destination, each headed by its first row


async def test_an_outage_part_way_through_a_batch_gives_the_committed_claims_back(
    replicas: tuple[Open, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook answers 503 and Meta's retry is a duplicate: nothing would claim the
    first event's row again before its lease ran out."""
    open_one, _admin = replicas
    store = await open_one()
    real_run, calls = store._run, 0

    async def flaky(work: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise StorageUnavailable("the connection dropped")
        return await real_run(work)

    monkeypatch.setattr(store, "_run", flaky)
    other = Event(ByKey(ConversationKey(KEY.phone_number_id, WaId("5511900000000"))),
                  lambda conv: Decision(conv, (SendText("b"),)))  # fmt: skip
    with pytest.raises(StorageUnavailable):
        await store.apply([queue("a"), other], HandOff("me", 600))
    monkeypatch.undo()
    [claim] = (await store.claim("another", 10, 60)).claims
    assert claim.row.command == SendText("a")


async def test_the_leaders_lock_connection_is_probed_by_the_server(
    replicas: tuple[Open, asyncpg.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a network cut the server must notice the dead leader in a minute, not in
    the operating system's two hours, or no replica could take its lock over."""
    open_one, _admin = replicas
    store = await open_one()
    made: list[asyncpg.Connection] = []
    connect = asyncpg.connect

    async def recorded(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        made.append(await connect(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(postgres_store.asyncpg, "connect", recorded)
    async with store.lead("reconciler"):
        [conn] = made
        shown = [await conn.fetchval(f"SHOW {name}") for name in LOCK_KEEPALIVES]
        path = await conn.fetchval("SHOW search_path")
    assert shown == ["30", "10", "3"] and path.startswith("replicas")
