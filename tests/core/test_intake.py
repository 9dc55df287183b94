"""Intake and the outbox it hands new lanes to (bridge.core.intake.Receiver)."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.core.decide import Decision, Policy
from bridge.core.intake import Intake
from bridge.core.lines import Line, Lines
from bridge.core.model import CitizenMessage, ConversationKey, SendText, WaId, WaMessageId
from bridge.core.storage import Applied, ByKey, Claim, Event, HandOff, Seen
from bridge.store import SqliteStore

KEY = ConversationKey("100000000000001", WaId("5511912345678"))


class Receiver:
    def __init__(self, *, taking: bool) -> None:
        self.taking = taking
        self.adopted: list[Claim] = []
        self.wakes = 0

    def hand_off(self) -> HandOff:
        return HandOff("me", 60)

    def adopt(self, claims: Sequence[Claim]) -> bool:
        if self.taking:
            self.adopted.extend(claims)
        return self.taking

    def wake(self) -> None:
        self.wakes += 1


def event(n: int) -> Event:
    """A citizen's message n whose step queues one text back (a bot's answer, say)."""
    msg = CitizenMessage(KEY, WaMessageId(f"wamid.{n}"), 1_700_000_000 + n, "Maria", f"oi {n}")
    answer = SendText(f"oi {n}")
    return Event(
        ByKey(msg.key, msg.profile_name),
        lambda conv: Decision(conv, (answer,)),
        Seen("whatsapp", msg.wamid),
    )


def intake(store: SqliteStore, policy: Policy, receiver: Receiver) -> Intake:
    return Intake(store, Lines(Line(policy, None)), receiver.wake, receiver=receiver)


async def test_the_lanes_an_event_starts_go_to_the_receiver_without_a_wake_up(
    store: SqliteStore, policy: Policy
) -> None:
    receiver = Receiver(taking=True)
    [result] = await intake(store, policy, receiver).accept([event(1)])
    assert isinstance(result, Applied) and result.enqueued == len(receiver.adopted) == 1
    assert receiver.wakes == 0  # nothing is left for the outbox's own claims
    assert (await store.claim("other", 10, 60)).claims == []  # leased to us


async def test_rows_behind_a_busy_lane_wake_the_outbox(store: SqliteStore, policy: Policy) -> None:
    receiver = Receiver(taking=True)
    accept = intake(store, policy, receiver).accept
    await accept([event(1)])
    await accept([event(2)])
    assert len(receiver.adopted) == 1 and receiver.wakes == 1


async def test_claims_an_outbox_that_stopped_meanwhile_refuses_are_given_back(
    store: SqliteStore, policy: Policy
) -> None:
    receiver = Receiver(taking=False)
    [result] = await intake(store, policy, receiver).accept([event(1)])
    assert isinstance(result, Applied) and len(result.claims) == 1 and not receiver.adopted
    [claim] = (await store.claim("other", 10, 60)).claims  # due again at once
    assert claim.row.command == SendText("oi 1")
