"""The store contract: what every backend of the storage port must do. Run against each
backend in tests/store/backends.py (SQLite file and :memory:; PostgreSQL joins later)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.core.decide import Decision, Survey
from bridge.core.model import (
    CitizenMessage,
    Conversation,
    ConversationKey,
    Destination,
    OpenRoom,
    RelayToRoom,
    RoomId,
    SendText,
    State,
    VisitorToken,
    WaId,
    WaMessageId,
)
from bridge.core.storage import (
    Applied,
    Bury,
    ById,
    ByKey,
    ByOutbound,
    ByRoom,
    Event,
    Failed,
    Finish,
    HandOff,
    Hold,
    Link,
    Outcome,
    Pending,
    Reschedule,
    Seen,
    Settlement,
)
from bridge.store import SqliteStore
from bridge.store.postgres import PostgresStore
from tests.store.backends import BACKENDS, Backend

KEY = ConversationKey("1122334455667", WaId("5511912345678"))
OTHER = ConversationKey("1122334455667", WaId("5511900000000"))


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with BACKENDS[request.param](tmp_path) as opened:
        yield opened


def say(text: str, *more: str) -> Event:
    """A step that appends to bot_state, enqueues a text per word and counts it."""

    def step(conv: Conversation) -> Decision:
        state = (conv.bot_state or "") + text
        commands = tuple(SendText(t) for t in (text, *more))
        return Decision(replace(conv, bot_state=state), commands, (("said", ""),))

    return Event(ByKey(KEY, "Maria"), step)


def seen(event: Event, external_id: str) -> Event:
    return replace(event, seen=Seen("whatsapp", external_id))


def boom(_conv: Conversation) -> Decision:
    raise RuntimeError("a bug in a step")


async def conversation(backend: Backend, key: ConversationKey = KEY) -> Conversation:
    [result] = await backend.storage.apply([Event(ByKey(key), Decision)])
    assert isinstance(result, Applied) and result.conversation is not None
    return result.conversation


async def texts_in_outbox(backend: Backend) -> list[str]:
    rows = await backend.sql("SELECT command FROM outbox WHERE state = 'pending' ORDER BY id", ())
    return [json.loads(r[0])["text"] for r in rows]


# --- events: dedupe, find, write ------------------------------------------------------------


async def test_an_event_is_applied_once_and_its_duplicate_writes_nothing(backend: Backend) -> None:
    first, again = (
        await backend.storage.apply([seen(say("a"), "wamid.1")]),
        await backend.storage.apply([seen(say("a"), "wamid.1")]),
    )
    assert isinstance(first[0], Applied) and first[0].outcome is Outcome.APPLIED
    assert first[0].enqueued == 1
    assert again == [Applied(Outcome.DUPLICATE, first[0].conversation)]
    assert await texts_in_outbox(backend) == ["a"]
    assert (await conversation(backend)).bot_state == "a"


async def test_the_same_id_from_another_source_is_not_a_duplicate(backend: Backend) -> None:
    wa = seen(say("a"), "x")
    rc = replace(say("b"), seen=Seen("rocketchat", "x"))
    results = await backend.storage.apply([wa, rc])
    assert [r.outcome for r in results if isinstance(r, Applied)] == [Outcome.APPLIED] * 2


async def test_by_key_creates_the_conversation_once(backend: Backend) -> None:
    a = await conversation(backend)
    b = await conversation(backend)
    other = await conversation(backend, OTHER)
    assert a.id == b.id != other.id
    assert (a.key, a.profile_name, a.state) == (KEY, "", State.BOT)


async def test_an_unknown_room_writes_nothing_not_even_the_dedupe_mark(backend: Backend) -> None:
    event = Event(ByRoom("room-1"), boom, Seen("rocketchat", "m1"))
    assert await backend.storage.apply([event]) == [Applied(Outcome.UNKNOWN)]
    conv = await conversation(backend)
    opened = replace(conv, room_id=RoomId("room-1"), visitor_token=VisitorToken("t"))
    await backend.storage.apply([Event(ById(conv.id), lambda c: Decision(opened))])
    later = Event(ByRoom("room-1"), lambda c: Decision(replace(c, department="D")), event.seen)
    [result] = await backend.storage.apply([later])
    assert isinstance(result, Applied) and result.outcome is Outcome.APPLIED
    assert result.conversation is not None and result.conversation.department == "D"


async def test_by_outbound_finds_the_conversation_of_a_message_we_sent(backend: Backend) -> None:
    conv = await conversation(backend)
    await backend.storage.apply([say("oi")])
    claims = (await backend.storage.claim("me", 10, 60)).claims
    link = Link("wamid.out", "rc-1", "out")
    assert (await backend.storage.settle(Settlement(claims[0], Finish(), links=(link,)))).held
    touch = Event(ByOutbound("wamid.out"), lambda c: Decision(replace(c, department="found")))
    missing = Event(ByOutbound("wamid.unknown"), boom)
    found, unknown = await backend.storage.apply([touch, missing])
    assert isinstance(found, Applied) and found.conversation is not None
    assert (found.conversation.id, found.conversation.department) == (conv.id, "found")
    assert unknown == Applied(Outcome.UNKNOWN)


async def test_what_a_decision_changes_is_stored_column_by_column_and_the_rest_kept(
    backend: Backend,
) -> None:
    """Every column a decision may change is stored: each one alone, several at once, back
    to unset; and what one save wrote, the next keeps."""
    conv = await conversation(backend)
    changes: list[dict[str, object]] = [
        {"profile_name": "Maria"},
        {"state": State.AGENT},
        {"department": "Saúde"},
        {"visitor_token": VisitorToken("tok"), "room_id": RoomId("room-9")},
        {"bot_state": '{"node": "menu"}'},
        {"last_citizen_at": 1_700_000_000.5, "last_wamid": "wamid.9"},
        {"held_since": 1_700_000_100.25},
        {"room_id": None, "visitor_token": None, "held_since": None, "state": State.BOT},
    ]
    expected = conv
    for change in changes:
        expected = replace(expected, **change)  # type: ignore[arg-type]
        [result] = await backend.storage.apply([Event(ById(conv.id), _becomes(expected))])
        assert isinstance(result, Applied) and result.outcome is Outcome.APPLIED
        assert await conversation(backend) == expected


def _becomes(after: Conversation) -> Callable[[Conversation], Decision]:
    return lambda _before: Decision(after)


async def test_events_for_one_conversation_apply_in_order_each_seeing_the_last(
    backend: Backend,
) -> None:
    words = [f"{n:02d}." for n in range(40)]
    # Submitted by concurrent callers as webhooks are: each step must see its predecessor.
    await asyncio.gather(*(backend.storage.apply([say(w)]) for w in words))
    assert (await conversation(backend)).bot_state == "".join(words)
    assert await texts_in_outbox(backend) == words


async def test_one_failing_event_rolls_back_alone_in_a_shared_commit(backend: Backend) -> None:
    bad = Event(ByKey(OTHER), boom, Seen("whatsapp", "wamid.bad"))
    results = await backend.storage.apply(
        [seen(say("a"), "wamid.a"), bad, seen(say("b"), "wamid.b")]
    )
    assert isinstance(results[1], Failed) and isinstance(results[1].error, RuntimeError)
    assert [r.outcome for r in results if isinstance(r, Applied)] == [Outcome.APPLIED] * 2
    assert await texts_in_outbox(backend) == ["a", "b"]
    # Nothing of the failed one stayed: not its conversation, not its dedupe mark.
    assert await backend.sql("SELECT 1 FROM conversation WHERE wa_id = ?", (OTHER.wa_id,)) == []
    retry = Event(ByKey(OTHER), Decision, Seen("whatsapp", "wamid.bad"))
    [again] = await backend.storage.apply([retry])
    assert isinstance(again, Applied) and again.outcome is Outcome.APPLIED


async def test_a_stored_conversation_this_code_cannot_read_fails_its_event_alone(
    backend: Backend,
) -> None:
    conv = await conversation(backend)
    await backend.damage_conversation(conv.id)
    results = await backend.storage.apply([say("x"), Event(ByKey(OTHER), Decision)])
    assert isinstance(results[0], Failed)
    assert isinstance(results[1], Applied) and results[1].outcome is Outcome.APPLIED


async def test_counters_and_surveys_are_recorded_by_decisions(backend: Backend) -> None:
    await backend.storage.apply([say("a"), say("b")])
    counters = await backend.storage.counters()
    assert [(c.name, c.label, c.value) for c in counters] == [("said", "", 2)]
    assert len(counters[0].day) == 10


# --- the outbox: claims, leases, settlements ------------------------------------------------


async def enqueue(backend: Backend, *commands: object, key: ConversationKey = KEY) -> None:
    event = Event(ByKey(key), lambda c: Decision(c, tuple(commands)))  # type: ignore[arg-type]
    await backend.storage.apply([event])


def message(n: int) -> CitizenMessage:
    return CitizenMessage(KEY, WaMessageId(f"wamid.{n}"), 1_700_000_000 + n, "Maria", f"oi {n}")


async def test_an_answer_and_a_handoff_in_one_decision_make_one_contact(backend: Backend) -> None:
    room = OpenRoom("Urgente", "resumo", topic="Violência doméstica")
    counters = (("contact", ""), ("bot_answer", "direitos"), ("handoff", "Urgente"))
    event = Event(ByKey(KEY), lambda c: Decision(c, (room,), counters=counters))
    [result] = await backend.storage.apply([event])
    assert isinstance(result, Applied)
    [contact] = await backend.storage.contacts(0, 2**40)
    assert (contact.topic, contact.department) == ("Violência doméstica", "Urgente")


async def test_a_claim_hands_out_the_head_of_each_lane_only(backend: Backend) -> None:
    relay = RelayToRoom(message(1))
    opened = OpenRoom("Iluminação", "transcrição", {"cpf": "123"}, ("poste",), "urgent")
    await enqueue(backend, opened, relay, SendText("olá"), SendText("tudo bem?"))
    claimed = await backend.storage.claim("me", 10, 60)
    assert sorted(type(c.row.command).__name__ for c in claimed.claims) == ["OpenRoom", "SendText"]
    assert {c.row.destination for c in claimed.claims} == set(Destination)
    head = next(c for c in claimed.claims if c.row.destination is Destination.ROCKETCHAT)
    assert head.row.command == opened  # commands round-trip
    assert head.conversation.key == KEY
    # Leased lanes are not handed out again; their next rows wait behind them.
    assert (await backend.storage.claim("other", 10, 60)).claims == []
    assert (await backend.storage.settle(Settlement(head, Finish()))).held
    [after] = (await backend.storage.claim("other", 10, 60)).claims
    assert after.row.command == relay


async def test_a_hand_off_leases_the_head_of_each_lane_an_event_starts(backend: Backend) -> None:
    [result] = await backend.storage.apply([say("a", "b")], HandOff("me", 60))
    assert isinstance(result, Applied) and result.enqueued == 2
    [handed] = result.claims  # "b" waits behind "a" in the same lane
    assert handed.row.command == SendText("a") and handed.row.attempts == 0
    assert handed.conversation == result.conversation  # as written
    assert (await backend.storage.claim("other", 10, 60)).claims == []  # it is leased
    # The claim is the row as stored: given back and claimed again, it is the same.
    await backend.storage.release([handed])
    [again] = (await backend.storage.claim("other", 10, 60)).claims
    assert again.row == handed.row and again.conversation == handed.conversation
    settled = await backend.storage.settle(Settlement(again, Finish(), then_lease=60))
    assert settled.next is not None and settled.next.row.command == SendText("b")


async def test_a_hand_off_leaves_a_busy_lane_to_its_holder(backend: Backend) -> None:
    await enqueue(backend, SendText("a"))
    [held] = (await backend.storage.claim("me", 10, 60)).claims
    [result] = await backend.storage.apply([say("b")], HandOff("other", 60))
    assert isinstance(result, Applied) and result.enqueued == 1 and result.claims == ()
    settled = await backend.storage.settle(Settlement(held, Finish(), then_lease=60))
    assert settled.next is not None and settled.next.row.command == SendText("b")


async def test_without_a_hand_off_nothing_is_leased(backend: Backend) -> None:
    [result] = await backend.storage.apply([say("a")])
    assert isinstance(result, Applied) and result.enqueued == 1 and result.claims == ()
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    assert claim.row.command == SendText("a")


async def test_a_claim_respects_the_limit_and_oldest_lanes_go_first(backend: Backend) -> None:
    await enqueue(backend, SendText("first"))
    await enqueue(backend, SendText("second"), key=OTHER)
    [claim] = (await backend.storage.claim("me", 1, 60)).claims
    assert claim.row.command == SendText("first")
    claimed = await backend.storage.claim("me", 5, 60)
    assert [c.row.command for c in claimed.claims] == [SendText("second")]


async def test_a_rescheduled_row_waits_and_keeps_its_lane(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"))
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    change = Reschedule(delay=60, attempts=1, error="HTTP 503")
    assert (await backend.storage.settle(Settlement(claim, change))).held
    claimed = await backend.storage.claim("me", 10, 60)
    assert claimed.claims == []
    assert claimed.next_due_at is not None and claimed.next_due_at > claim.row.created_at + 30
    rows = await backend.sql("SELECT attempts, last_error FROM outbox ORDER BY id", ())
    assert rows[0] == (1, "HTTP 503")


async def test_a_reschedule_can_replace_the_stored_command(backend: Backend) -> None:
    await enqueue(backend, OpenRoom("Atendimento", "t"))
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    told = OpenRoom("Atendimento", "t", told_no_agent=True)
    assert (
        await backend.storage.settle(Settlement(claim, Reschedule(0, 0, "no-agent", told)))
    ).held
    [again] = (await backend.storage.claim("me", 10, 60)).claims
    assert again.row.command == told and again.row.attempts == 0


async def test_a_buried_row_leaves_its_lane_as_a_dead_letter(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"))
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    settlement = Settlement(claim, Bury(3, "gave up"), counters=(("dead_letter", "whatsapp"),))
    assert (await backend.storage.settle(settlement)).held
    [next_one] = (await backend.storage.claim("me", 10, 60)).claims
    assert next_one.row.command == SendText("b")
    assert await backend.storage.outbox_depth() == {"dead": 1, "pending": 1}
    counters = await backend.storage.counters()
    assert [(c.name, c.label, c.value) for c in counters] == [("dead_letter", "whatsapp", 1)]


async def test_a_settlement_step_sees_what_is_still_pending(backend: Backend) -> None:
    await enqueue(backend, RelayToRoom(message(1)), OpenRoom("Atendimento", "t"))
    seen_pending: list[Pending] = []

    def step(conv: Conversation, pending: Pending) -> Decision:
        seen_pending.append(pending)
        return Decision(replace(conv, department="after"), (SendText("aviso"),))

    [relay] = (await backend.storage.claim("me", 10, 60)).claims
    assert (await backend.storage.settle(Settlement(relay, Finish(), step=step))).held
    claimed = (await backend.storage.claim("me", 10, 60)).claims
    [room] = [c for c in claimed if c.row.destination is Destination.ROCKETCHAT]
    assert (await backend.storage.settle(Settlement(room, Bury(1, "x"), step=step))).held
    assert seen_pending == [Pending(room_request=True), Pending(room_request=False)]
    assert (await conversation(backend)).department == "after"
    assert await texts_in_outbox(backend) == ["aviso", "aviso"]


async def test_a_settlement_whose_lease_was_taken_over_is_refused(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"))
    [dead_owner] = (await backend.storage.claim("replica-1", 10, lease=0.05)).claims
    await asyncio.sleep(0.1)  # the lease runs out (the owner died mid-delivery)
    [taken] = (await backend.storage.claim("replica-2", 10, 60)).claims
    assert taken.row.id == dead_owner.row.id and taken.lease != dead_owner.lease
    assert not (await backend.storage.settle(Settlement(dead_owner, Finish()))).held
    assert await texts_in_outbox(backend) == ["a", "b"]  # the late settle wrote nothing
    assert (await backend.storage.settle(Settlement(taken, Finish()))).held
    assert await texts_in_outbox(backend) == ["b"]


async def test_no_change_is_written_by_a_delivery_whose_lease_was_taken_over(
    backend: Backend,
) -> None:
    await enqueue(backend, SendText("a"))
    [dead_owner] = (await backend.storage.claim("replica-1", 10, lease=0.05)).claims
    await asyncio.sleep(0.1)
    [taken] = (await backend.storage.claim("replica-2", 10, 60)).claims
    for change in (Reschedule(1, 30, "HTTP 503"), Bury(1, "HTTP 400"), Hold()):
        assert not (await backend.storage.settle(Settlement(dead_owner, change))).held
    assert await texts_in_outbox(backend) == ["a"]
    assert (await backend.storage.outbox_depth()) == {"pending": 1}
    assert (await backend.storage.settle(Settlement(taken, Finish()))).held


async def test_a_finished_row_hands_its_lane_on_to_the_same_delivery(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"), SendText("c"))
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    texts = [claim.row.command.text]  # type: ignore[union-attr]
    while True:
        settled = await backend.storage.settle(Settlement(claim, Finish(), then_lease=60))
        assert settled.held
        if settled.next is None:
            break
        assert (await backend.storage.claim("other", 10, 60)).claims == []  # it is leased
        claim = settled.next
        texts.append(claim.row.command.text)  # type: ignore[union-attr]
    assert texts == ["a", "b", "c"]
    assert await backend.storage.outbox_depth() == {}


async def test_a_rescheduled_or_lost_row_hands_nothing_on(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"))
    [claim] = (await backend.storage.claim("me", 10, 60)).claims
    later = Settlement(claim, Reschedule(0, 1, "HTTP 503"), then_lease=60)
    settled = await backend.storage.settle(later)
    assert settled.held and settled.next is None  # the row stays the head of its lane
    [again] = (await backend.storage.claim("me", 10, lease=0.05)).claims
    assert again.row.id == claim.row.id
    await asyncio.sleep(0.1)
    [thief] = (await backend.storage.claim("other", 10, 60)).claims
    lost = await backend.storage.settle(Settlement(again, Finish(), then_lease=60))
    assert not lost.held and lost.next is None
    assert thief.row.id == again.row.id


async def test_held_rows_wait_out_of_their_lane_and_come_back_in_order(backend: Backend) -> None:
    await enqueue(backend, SendText("first"), SendText("second"))
    for _ in range(2):
        [claim] = (await backend.storage.claim("me", 10, 60)).claims
        assert (await backend.storage.settle(Settlement(claim, Hold()))).held
    assert (await backend.storage.claim("me", 10, 60)).claims == []
    assert await backend.storage.outbox_depth() == {"held": 2}
    await enqueue(backend, SendText("third"))  # written while the others wait
    [third] = (await backend.storage.claim("me", 10, 60)).claims
    assert (await backend.storage.settle(Settlement(third, Hold()))).held
    release = Event(ByKey(KEY), lambda c: Decision(c, release_held=True))
    await backend.storage.apply([release])
    texts = []
    while claims := (await backend.storage.claim("me", 10, 60)).claims:
        texts.append(claims[0].row.command.text)  # type: ignore[union-attr]
        assert (await backend.storage.settle(Settlement(claims[0], Finish()))).held
    assert texts == ["first", "second", "third"]


async def test_a_release_behind_a_busy_lane_keeps_the_order(backend: Backend) -> None:
    await enqueue(backend, SendText("old"))
    [old] = (await backend.storage.claim("me", 10, 60)).claims
    await backend.storage.settle(Settlement(old, Hold()))
    await enqueue(backend, SendText("new"))
    [new] = (await backend.storage.claim("me", 10, 60)).claims  # in flight
    release = Event(ByKey(KEY), lambda c: Decision(c, release_held=True))
    await backend.storage.apply([release])
    settled = await backend.storage.settle(Settlement(new, Finish(), then_lease=60))
    assert settled.next is not None and settled.next.row.command == SendText("old")


async def test_released_claims_are_due_again_at_once(backend: Backend) -> None:
    await enqueue(backend, SendText("a"))
    claims = (await backend.storage.claim("me", 10, 600)).claims
    await backend.storage.release(claims)
    [again] = (await backend.storage.claim("me", 10, 600)).claims
    assert again.row.id == claims[0].row.id
    assert not (await backend.storage.settle(Settlement(claims[0], Finish()))).held


async def test_an_unreadable_row_is_set_aside_and_blocks_nobody(backend: Backend) -> None:
    await enqueue(backend, SendText("a"), SendText("b"))
    await enqueue(backend, SendText("other"), key=OTHER)
    first = (await backend.sql("SELECT MIN(id) FROM outbox", ()))[0][0]
    newer = '{"kind": "SendHologram", "text": "from a newer release"}'
    await backend.sql("UPDATE outbox SET command = ? WHERE id = ?", (newer, first))
    claimed = await backend.storage.claim("me", 10, 60)
    assert claimed.set_aside == 1
    assert sorted(c.row.command.text for c in claimed.claims) == ["b", "other"]  # type: ignore[union-attr]
    dead = await backend.sql("SELECT state, last_error FROM outbox WHERE id = ?", (first,))
    assert dead[0][0] == "dead" and "unreadable" in dead[0][1]


async def test_rows_of_an_unreadable_conversation_are_set_aside(backend: Backend) -> None:
    await enqueue(backend, SendText("a"))
    await enqueue(backend, SendText("other"), key=OTHER)
    await backend.damage_conversation((await conversation(backend)).id)
    claimed = await backend.storage.claim("me", 10, 60)
    assert [c.row.command for c in claimed.claims] == [SendText("other")]
    assert claimed.set_aside == 1


# --- cancellation and reads ---------------------------------------------------------------


@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 5, 8, 13])
async def test_callers_cancelled_at_any_point_leave_all_or_nothing(
    backend: Backend, ticks: int
) -> None:
    """A webhook's client hangs up while its transaction is queued, running or being
    committed: the event is then wholly there or wholly absent, and the store goes on."""
    events = [seen(say(f"[{n}]"), f"wamid.c{n}") for n in range(30)]
    callers = [asyncio.create_task(backend.storage.apply([e])) for e in events]
    for _ in range(ticks):
        await asyncio.sleep(0)
    for caller in callers[::2]:
        caller.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    texts = await texts_in_outbox(backend)
    state = (await conversation(backend)).bot_state or ""
    for n, event in enumerate(events):
        [again] = await backend.storage.apply([event])
        assert isinstance(again, Applied)
        recorded = again.outcome is Outcome.DUPLICATE
        assert (f"[{n}]" in texts) == (f"[{n}]" in state) == recorded, n
    for n in range(1, 30, 2):  # nobody cancelled these
        assert f"[{n}]" in texts
    await backend.storage.check_writable()


async def test_open_rooms_and_outbox_depth(backend: Backend) -> None:
    conv = await conversation(backend)
    await conversation(backend, OTHER)
    opened = replace(conv, room_id=RoomId("r1"), visitor_token=VisitorToken("t"))
    await backend.storage.apply(
        [Event(ById(conv.id), lambda c: Decision(opened, (SendText("x"),)))]
    )
    assert [c.id for c in await backend.storage.open_rooms()] == [conv.id]
    assert await backend.storage.outbox_depth() == {"pending": 1}


async def test_what_was_acknowledged_survives_a_reopen(backend: Backend) -> None:
    if backend.reopen is None:
        pytest.skip(f"{backend.name} keeps nothing once closed")
    await backend.storage.apply([seen(say("durable"), "wamid.d")])
    reopened = await backend.reopen()
    [again] = await reopened.apply([seen(say("durable"), "wamid.d")])
    assert isinstance(again, Applied) and again.outcome is Outcome.DUPLICATE
    [claim] = (await reopened.claim("me", 10, 60)).claims
    assert claim.row.command == SendText("durable")


async def test_export_and_forget_find_a_citizens_kept_bodies_as_either_side_writes_them(
    backend: Backend,
) -> None:
    """Meta writes the number bare, Rocket.Chat's visitor phone carries a "+" (§4.3)."""
    store = backend.storage
    assert isinstance(store, SqliteStore | PostgresStore)
    meta = {"from": KEY.wa_id}
    rocketchat = {"visitor": {"phone": [{"phoneNumber": f"+{KEY.wa_id}"}]}}
    for source, kept in (("whatsapp", meta), ("rocketchat", rocketchat)):
        await store.record_rejected(source, "odd", json.dumps(kept).encode())
    await store.record_rejected(
        "rocketchat", "odd", json.dumps({"phone": f"+{OTHER.wa_id}"}).encode()
    )
    exported = await store.export([KEY.wa_id])
    assert sorted(p["source"] for p in exported["rejected_payloads"]) == ["rocketchat", "whatsapp"]
    assert (await store.forget([KEY.wa_id]))["rejected_payload"] == 2
    assert len((await store.export([OTHER.wa_id]))["rejected_payloads"]) == 1


async def test_held_rows_released_behind_a_delivery_that_is_rescheduled_keep_their_order(
    backend: Backend,
) -> None:
    """release_held leaves a leased lane alone: the retry's settlement puts the oldest row
    back at its head."""
    await enqueue(backend, SendText("old"))
    [old] = (await backend.storage.claim("me", 10, 60)).claims
    await backend.storage.settle(Settlement(old, Hold()))
    await enqueue(backend, SendText("new"))
    [new] = (await backend.storage.claim("me", 10, 60)).claims  # in flight
    await backend.storage.apply([Event(ByKey(KEY), lambda c: Decision(c, release_held=True))])
    await backend.storage.settle(Settlement(new, Reschedule(0, 1, "HTTP 503")))
    order = []
    while claims := (await backend.storage.claim("me", 10, 60)).claims:
        order.append(claims[0].row.command)
        await backend.storage.settle(Settlement(claims[0], Finish()))
    assert order == [SendText("old"), SendText("new")]


@pytest.mark.parametrize("ticks", [1, 3, 6, 12])
async def test_a_caller_cancelled_part_way_leaves_no_lane_leased_to_nobody(
    backend: Backend, ticks: int
) -> None:
    """The claims a hand-off took for events whose caller gave up are given back: the
    lanes are due at once, not when the lease runs out."""
    events = [say("a"), replace(say("b"), find=ByKey(OTHER))]
    task = asyncio.create_task(backend.storage.apply(events, HandOff("me", 600)))
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    [outcome] = await asyncio.gather(task, return_exceptions=True)
    if isinstance(outcome, list):  # done before the cancel: its claims are the caller's
        await backend.storage.release([c for r in outcome for c in r.claims])
    await asyncio.sleep(0.05)  # the give-back's own transaction
    lanes = await backend.sql("SELECT conversation_id FROM lane", ())
    claimed = (await backend.storage.claim("other", 10, 60)).claims
    assert len(claimed) == len(lanes)


async def test_a_survey_comment_completes_the_score_recorded_before_it(backend: Backend) -> None:
    """The score is kept as soon as it is given (most citizens never write again); the
    comment, when one comes, lands on that same answer."""
    conv = await conversation(backend)
    rated = Decision(conv, surveys=(Survey(5, None, "Atendimento"),))
    [first] = await backend.storage.apply([Event(ById(conv.id), lambda c: rated)])
    assert isinstance(first, Applied)
    assert [(s.score, s.comment) for s in await backend.storage.surveys()] == [(5, None)]
    commented = Decision(conv, surveys=(Survey(None, "Fui bem atendida", "Atendimento"),))
    await backend.storage.apply([Event(ById(conv.id), lambda c: commented)])
    [answer] = await backend.storage.surveys()
    assert (answer.score, answer.comment) == (5, "Fui bem atendida")
    assert answer.department == "Atendimento"
