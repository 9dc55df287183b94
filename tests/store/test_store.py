"""The store against real SQLite files with the real migrations."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from bridge.core.model import (
    CitizenMessage,
    ConversationKey,
    Destination,
    OpenRoom,
    RelayToRoom,
    SendText,
    WaId,
    WaMessageId,
)
from bridge.store import Store, StoreError
from bridge.store.db import migrations

KEY = ConversationKey("1122334455667", WaId("5511912345678"))


def _message(n: int) -> CitizenMessage:
    return CitizenMessage(KEY, WaMessageId(f"wamid.{n}"), 1_700_000_000 + n, "Maria", f"oi {n}")


async def test_migrations_set_user_version_and_pragmas(store: Store, tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "bridge.db") as conn:
        version = await (await conn.execute("PRAGMA user_version")).fetchone()
        mode = await (await conn.execute("PRAGMA journal_mode")).fetchone()
    assert version is not None and version[0] == len(migrations())
    assert mode is not None and mode[0] == "wal"


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with aiosqlite.connect(path) as conn:
        await conn.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
        await conn.commit()
    with pytest.raises(StoreError, match="newer than this bridge"):
        await Store.open(path)


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    first = await Store.open(tmp_path / "b.db")
    async with first.transaction() as tx:
        await tx.create_conversation(KEY, "Maria")
    await first.close()
    second = await Store.open(tmp_path / "b.db")
    async with second.transaction() as tx:
        found = await tx.conversation(KEY)
    await second.close()
    assert found is not None and found.profile_name == "Maria"


async def test_mark_seen_is_true_once(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.mark_seen("whatsapp", "wamid.1")
        assert not await tx.mark_seen("whatsapp", "wamid.1")
        assert await tx.mark_seen("rocketchat", "wamid.1")


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.mark_seen("whatsapp", "wamid.rolled-back")
            raise RuntimeError("boom")
    async with store.transaction() as tx:
        assert await tx.mark_seen("whatsapp", "wamid.rolled-back")


async def test_due_returns_only_the_head_of_each_lane(store: Store) -> None:
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.enqueue(conv.id, [OpenRoom("Atendimento", "t"), RelayToRoom(_message(1))])
        await tx.enqueue(conv.id, [SendText("olá"), SendText("tudo bem?")])
        rows = await tx.due(10, busy=())
    assert [type(r.command) for r in rows] == [OpenRoom, SendText]
    assert {r.destination for r in rows} == {Destination.ROCKETCHAT, Destination.WHATSAPP}


async def test_due_skips_busy_lanes_and_future_rows(store: Store) -> None:
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.enqueue(conv.id, [SendText("a"), RelayToRoom(_message(2))])
        rows = await tx.due(10, busy=())
        wa = next(r for r in rows if r.destination is Destination.WHATSAPP)
        await tx.reschedule(wa.id, attempts=1, at=tx.now + 60, error="later")
        rows = await tx.due(10, busy=[(conv.id, Destination.ROCKETCHAT)])
    assert rows == []


async def test_commands_round_trip_through_the_outbox(store: Store) -> None:
    relay = RelayToRoom(_message(3))
    opened = OpenRoom("Iluminação", "transcrição", {"cpf": "123"}, ("poste",), "urgent")
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.enqueue(conv.id, [relay, opened])
        first = (await tx.due(1, busy=()))[0]
        await tx.finish(first.id)
        second = (await tx.due(1, busy=()))[0]
    assert first.command == relay
    assert second.command == opened


async def test_bury_takes_a_row_out_of_its_lane(store: Store) -> None:
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.enqueue(conv.id, [SendText("a"), SendText("b")])
        head = (await tx.due(1, busy=()))[0]
        await tx.bury(head.id, 3, "gave up")
        after = await tx.due(5, busy=())
        counts = await tx.outbox_counts()
    assert [r.command for r in after] == [SendText("b")]
    assert counts == {"dead": 1, "pending": 1}


async def test_outbound_link_finds_the_conversation(store: Store) -> None:
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.link("wamid.out", "rc-msg-1", conv.id, "out")
        found = await tx.conversation_by_outbound("wamid.out")
        missing = await tx.conversation_by_outbound("wamid.other")
    assert found is not None and found[0].id == conv.id and found[1] == "rc-msg-1"
    assert missing is None


async def test_counters_add_up_per_day(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.count("handoff", "Atendimento")
        await tx.count("handoff", "Atendimento")
        await tx.count("contact")
        counters = await tx.counters()
    assert sorted((name, label, value) for _, name, label, value in counters) == [
        ("contact", "", 1),
        ("handoff", "Atendimento", 2),
    ]


async def test_room_requested_sees_only_a_pending_open_room(store: Store) -> None:
    async with store.transaction() as tx:
        conv = await tx.create_conversation(KEY, "Maria")
        await tx.enqueue(conv.id, [RelayToRoom(_message(4)), SendText("oi")])
        assert not await tx.room_requested(conv.id)
        await tx.enqueue(conv.id, [OpenRoom("Atendimento", "t")])
        assert await tx.room_requested(conv.id)
        rows = await tx.due(5, busy=())
        await tx.finish(rows[0].id)  # the relay
        head = (await tx.due(5, busy=[(conv.id, Destination.WHATSAPP)]))[0]
        assert isinstance(head.command, OpenRoom)
        await tx.bury(head.id, 3, "gave up")
        assert not await tx.room_requested(conv.id)
