"""Intake: one event, one transaction — dedupe, state change and outbox rows together."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bridge.core import decide
from bridge.core.decide import Bot, Decision, Policy
from bridge.core.model import (
    CitizenMessage,
    Conversation,
    ConversationKey,
    OutboundFailed,
    RoomEvent,
)
from bridge.core.ordering import KeyedLock
from bridge.store import Store, Tx

log = structlog.get_logger("bridge.intake")

ROOM_KEYS_KEPT = 50_000  # room id -> conversation key, remembered to spare a transaction


class Intake:
    def __init__(
        self, store: Store, policy: Policy, bot: Bot | None, wake: Callable[[], None]
    ) -> None:
        self.store = store
        self.policy = policy
        self.bot = bot
        self._wake = wake
        self.locks = KeyedLock()
        self._room_keys: dict[str, ConversationKey] = {}

    async def citizen(self, msg: CitizenMessage) -> bool:
        """Accept a citizen's message; False when it is a duplicate delivery."""
        async with self.locks(msg.key), self.store.transaction() as tx:
            if not await tx.mark_seen("whatsapp", msg.wamid):
                log.debug("intake.duplicate", source="whatsapp")
                return False
            conv = await tx.conversation(msg.key)
            if conv is None:
                conv = await tx.create_conversation(msg.key, msg.profile_name)
                await tx.count("citizen")
            await self.apply(tx, decide.on_citizen(conv, msg, self.policy, self.bot))
        self._wake()
        return True

    async def outbound_failed(self, event: OutboundFailed) -> bool:
        """A `failed` status for a message we sent; the agent hears about it."""
        async with self.store.transaction() as tx:
            if not await tx.mark_seen("status", f"{event.wamid}:failed"):
                return False
            found = await tx.conversation_by_outbound(event.wamid)
            if found is None:
                log.info("intake.status_unmatched", code=event.code)
                return True
            conv, _origin = found
            await self.apply(tx, decide.on_outbound_failed(conv, event, self.policy))
        self._wake()
        return True

    async def room_event(self, event: RoomEvent, event_id: str) -> bool:
        """An agent-side event; False when it is a duplicate or for a room we don't know."""
        key = await self._key_of_room(event.room_id)
        if key is None:
            await self._forget_unknown(event_id)
            return False
        async with self.locks(key), self.store.transaction() as tx:
            conv = await tx.conversation_by_room(event.room_id)
            if conv is None or not await tx.mark_seen("rocketchat", event_id):
                return False
            await self.apply(tx, decide.on_room(conv, event, self.policy, self.bot))
        self._wake()
        return True

    async def _key_of_room(self, room_id: str) -> ConversationKey | None:
        # A room belongs to one visitor for good, so a hit never goes stale; misses (rooms
        # of other channels, or a room whose opening is being saved) are not remembered.
        key = self._room_keys.get(room_id)
        if key is not None:
            return key
        async with self.store.transaction() as tx:
            conv = await tx.conversation_by_room(room_id)
        if conv is None:
            return None
        if len(self._room_keys) >= ROOM_KEYS_KEPT:
            self._room_keys.clear()
        self._room_keys[room_id] = conv.key
        return conv.key

    async def _forget_unknown(self, event_id: str) -> None:
        # Rooms of other channels (the web widget, e-mail...) share the webhook; not ours.
        log.debug("intake.unknown_room", event_id=event_id)

    async def reject(self, source: str, reason: str, body: bytes) -> None:
        """Keep a signed payload we could not use, for audit; never retried by the sender."""
        async with self.store.transaction() as tx:
            await tx.reject(source, reason, body)
            await tx.count("rejected_payload", source)

    @staticmethod
    async def apply(tx: Tx, decision: Decision) -> Conversation:
        conv = decision.conversation
        await tx.save(conv)
        if decision.commands:
            await tx.enqueue(conv.id, decision.commands)
        for name, label in decision.counters:
            await tx.count(name, label)
        for survey in decision.surveys:
            await tx.record_survey(conv.id, survey.department, survey.score, survey.comment)
        return conv
