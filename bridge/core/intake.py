"""Intake: each event is one transaction (dedupe, state change and outbox rows together),
run by the store as a pure step; many events share one durable commit. A lane an event
starts is leased in that transaction to this process's outbox and handed to it directly
(`Receiver`); the rest wait for the outbox's own claims, which `wake` asks for."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

import structlog

from bridge.core import decide
from bridge.core.decide import Decision
from bridge.core.lines import Lines
from bridge.core.model import CitizenMessage, Conversation, OutboundFailed, RoomEvent
from bridge.core.observe import Observer, Unobserved
from bridge.core.storage import (
    Applied,
    ByKey,
    ByOutbound,
    ByRoom,
    Claim,
    Event,
    Failed,
    HandOff,
    Outcome,
    Seen,
    Storage,
    StorageUnavailable,
)

log = structlog.get_logger("bridge.intake")


class Receiver(Protocol):
    """Where the rows intake leases go (the outbox)."""

    def hand_off(self) -> HandOff | None: ...

    def adopt(self, claims: Sequence[Claim]) -> bool: ...


class Intake:
    def __init__(
        self,
        storage: Storage,
        lines: Lines,
        wake: Callable[[], None],
        observer: Observer | None = None,
        receiver: Receiver | None = None,
    ) -> None:
        self.storage = storage
        self.lines = lines
        self._wake = wake
        self._observer = observer or Unobserved()
        self._receiver = receiver

    def citizen(self, msg: CitizenMessage) -> Event:
        line = self.lines.of(msg.key.phone_number_id)
        policy, bot = line.policy, line.bot

        def step(conv: Conversation) -> Decision:
            decision = decide.on_citizen(conv, msg, policy, bot, time.time())
            if conv.last_citizen_at is None:  # the first message ever from this citizen
                decision = replace(decision, counters=(("citizen", ""), *decision.counters))
            return decision

        return Event(ByKey(msg.key, msg.profile_name), step, Seen("whatsapp", msg.wamid))

    def outbound_failed(self, event: OutboundFailed) -> Event:
        """A `failed` status for a message we sent: the agent hears about it."""
        lines = self.lines
        return Event(
            ByOutbound(event.wamid),
            lambda conv: decide.on_outbound_failed(
                conv, event, lines.of(conv.key.phone_number_id).policy
            ),
            Seen("status", f"{event.wamid}:failed"),
        )

    def room_event(self, event: RoomEvent, event_id: str) -> Event:
        """An agent-side event; rooms we do not know (other channels share the webhook)
        come back UNKNOWN with nothing written."""
        lines = self.lines

        def step(conv: Conversation) -> Decision:
            line = lines.of(conv.key.phone_number_id)
            return decide.on_room(conv, event, line.policy, line.bot, time.time())

        return Event(ByRoom(event.room_id), step, Seen("rocketchat", event_id))

    async def accept(self, events: Sequence[Event]) -> list[Applied | Failed]:
        """Run the events in order, sharing commits; raises StorageUnavailable when the
        database could not take them (the sender must retry)."""
        if not events:
            return []
        receiver = self._receiver
        hand_off = receiver.hand_off() if receiver is not None else None
        results = await self.storage.apply(events, hand_off)
        claims = [c for r in results if isinstance(r, Applied) for c in r.claims]
        if claims and receiver is not None and not receiver.adopt(claims):
            await self._give_back(claims)
        if any(isinstance(r, Applied) and r.enqueued > len(r.claims) for r in results):
            self._wake()
        self._observer.accepted(events, results)
        return results

    async def _give_back(self, claims: Sequence[Claim]) -> None:
        """The outbox stopped while the events were written: their rows are due again at
        once for whoever claims next. Kept leased if that fails too: they are delivered
        when the lease runs out (at start-up, for SQLite), and the events stay accepted."""
        try:
            await self.storage.release(claims)
        except StorageUnavailable as exc:
            log.warning("intake.release_failed", claims=len(claims), error=str(exc))

    async def reject(self, source: str, reason: str, body: bytes) -> None:
        """Keep a signed payload we could not use, for audit; never retried by the sender."""
        await self.storage.record_rejected(source, reason, body)
        self._observer.rejected(source, reason)


def accepted(results: Sequence[Applied | Failed]) -> int:
    return sum(1 for r in results if isinstance(r, Applied) and r.outcome is Outcome.APPLIED)
