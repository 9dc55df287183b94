"""The replicas' ordering read (Reconciler.replay_room) against a scripted history: what it
replays before the webhook being handled applies its own message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from bridge.core import reconcile
from bridge.core.model import (
    AgentMessage,
    Conversation,
    ConversationKey,
    RoomId,
    VisitorToken,
    WaId,
)
from bridge.core.ports import RoomMessage
from bridge.core.privacy import SHORTEST_RETENTION_DAYS
from bridge.core.reconcile import HORIZON, Reconciler, events_from_history

ROOM = RoomId("room-1")


def said(n: int) -> RoomMessage:
    return RoomMessage(f"m{n}", f"text {n}", from_visitor=False, system_type=None,
                       agent_name="Ana", edited_at=None)  # fmt: skip


class Storage:
    def __init__(self, seen: set[str]) -> None:
        self.seen = seen

    async def room_conversation(self, room_id: str) -> Conversation:
        key = ConversationKey("1122334455667", WaId("5511912345678"))
        return Conversation(id=1, key=key, room_id=RoomId(room_id))

    async def seen_ids(self, source: str, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self.seen}


class Intake:
    def __init__(self, seen: set[str]) -> None:
        self.storage = Storage(seen)
        self.applied: list[str] = []

    def room_event(self, event: Any, event_id: str) -> str:
        return event_id

    async def accept(self, events: list[str]) -> list[Any]:
        self.applied.extend(events)
        return []


class History:
    def __init__(self, messages: list[RoomMessage]) -> None:
        self.messages = messages  # oldest first, as the port answers

    async def history(self, token: VisitorToken, room_id: RoomId, limit: int) -> list[RoomMessage]:
        return self.messages[-limit:]


async def replay(messages: list[RoomMessage], seen: set[str], arriving: set[str]) -> list[str]:
    intake = Intake(seen)
    reconciler = Reconciler(intake, History(messages), 0, lambda _c: VisitorToken("t"))  # type: ignore[arg-type]
    await reconciler.replay_room(ROOM, frozenset(arriving))
    return intake.applied


async def test_what_precedes_the_arriving_message_and_was_never_seen_is_replayed_first() -> None:
    # m1's webhook was lost with a replica; m2's arrives: m1 first, m2 is the webhook's own.
    assert await replay([said(0), said(1), said(2), said(3)], {"m0"}, {"m2"}) == ["m1"]


async def test_nothing_newer_than_the_arriving_message_goes_before_it() -> None:
    # A burst longer than the window read: the arriving message is not in it, and all
    # the window holds is newer; replaying any of it would put it first.
    burst = [said(n) for n in range(12)]
    assert await replay(burst, set(), {"m0"}) == []


def test_an_agent_message_past_the_horizon_is_never_replayed() -> None:
    """The retention purge may have erased its dedupe record: it would go out again."""
    conv = Conversation(id=1, key=ConversationKey("1", WaId("5511912345678")), room_id=ROOM)
    now = 2_000_000_000.0
    history = [
        replace(said(0), sent_at=now - HORIZON - 60),
        replace(said(1), sent_at=now - HORIZON + 60),
        said(2),  # no time given: replayed as before (dedupe decides)
    ]
    found = events_from_history(conv, history, now)
    assert [e.message_id for e in found if isinstance(e, AgentMessage)] == ["m1", "m2"]
    assert HORIZON < SHORTEST_RETENTION_DAYS * 86_400


async def test_a_history_that_does_not_answer_in_time_leaves_the_order_to_the_webhooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read runs inside Rocket.Chat's webhook, which gives up after 5 s and sends it
    again: better answer in time with the order unchecked."""

    class Hanging(History):
        async def history(
            self, token: VisitorToken, room_id: RoomId, limit: int
        ) -> list[RoomMessage]:
            await asyncio.sleep(60)
            return []

    monkeypatch.setattr(reconcile, "ORDER_READ_TIMEOUT", 0.05)
    intake = Intake(set())
    reconciler = Reconciler(intake, Hanging([]), 0, lambda _c: VisitorToken("t"))  # type: ignore[arg-type]
    assert await asyncio.wait_for(reconciler.replay_room(ROOM, frozenset({"m2"})), 5) == 0
    assert intake.applied == []
