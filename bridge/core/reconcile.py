"""Reconciliation: re-read open rooms so no agent reply is lost to a missed webhook.

Rocket.Chat retries its webhook only in memory and a few times (contract §4.2), so a
bridge that was down or slow for a minute would miss replies. The history of each open
room is the source of truth; intake's dedupe makes replaying it harmless.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from bridge.core.intake import Intake, accepted
from bridge.core.model import AgentMessage, Conversation, RoomClosed, RoomEvent, VisitorToken
from bridge.core.ports import DeliveryError, RateLimited, RocketChat, RoomMessage
from bridge.core.privacy import SHORTEST_RETENTION_DAYS
from bridge.core.storage import Failed

log = structlog.get_logger("bridge.reconcile")

HISTORY_LIMIT = 50
RECENT = 10  # messages looked at before an agent's new one (replicas; replay_room)
# replay_room runs inside the webhook's handler: Rocket.Chat gives up on an answer after
# Livechat_http_timeout (5 s by default, §4.2) and sends the webhook again.
ORDER_READ_TIMEOUT = 2.0


# An agent's message older than this is never replayed: its dedupe record may be gone
# with the retention purge (never sooner than SHORTEST_RETENTION_DAYS), and it would go to
# the citizen again. A day short of it: the two servers' clocks may differ.
HORIZON = (SHORTEST_RETENTION_DAYS - 1) * 86_400.0


def events_from_history(
    conv: Conversation, history: list[RoomMessage], now: float
) -> list[RoomEvent]:
    assert conv.room_id is not None
    events: list[RoomEvent] = []
    for m in history:  # oldest first
        if m.system_type == "livechat-close":
            events.append(RoomClosed(conv.room_id))
        elif m.sent_at is not None and now - m.sent_at > HORIZON:
            continue
        elif not m.from_visitor and not m.system_type:
            events.append(
                AgentMessage(conv.room_id, m.id, m.edited_at, m.agent_name, m.text, m.files)
            )
    return events


class Reconciler:
    def __init__(
        self,
        intake: Intake,
        rocketchat: RocketChat,
        interval: float,
        token_of: Callable[[Conversation], VisitorToken | None],
    ) -> None:
        """`token_of`: the conversation's visitor token (derived where not stored)."""
        self._intake = intake
        self._rc = rocketchat
        self._interval = interval
        self._token_of = token_of

    async def run(self) -> None:
        """At start-up, then every `interval` seconds, until cancelled."""
        while True:
            await self.once()
            if self._interval <= 0:
                return
            await asyncio.sleep(self._interval)

    async def once(self) -> int:
        """One round over every open room; one room that fails (an odd answer, a bug) is
        logged and skipped, never the end of the round or of the worker."""
        rooms = await self._intake.storage.open_rooms()
        replayed = 0
        for conv in rooms:
            try:
                replayed += await self._room(conv)
            except RateLimited as exc:
                log.warning("reconcile.rate_limited", conversation=conv.id, reason=exc.reason)
                break  # the rest waits for the next round
            except DeliveryError as exc:
                log.warning("reconcile.failed", conversation=conv.id, reason=exc.reason)
            except Exception as exc:
                log.error(
                    "reconcile.room_crashed",
                    conversation=conv.id,
                    error=type(exc).__name__,
                    exc_info=True,
                )
        if replayed:
            log.info("reconcile.replayed", events=replayed, rooms=len(rooms))
        return replayed

    async def replay_room(self, room_id: str, arriving: frozenset[str] = frozenset()) -> int:
        """What the room's history holds before the messages `arriving` (the event ids of
        the webhook being handled) that the bridge has not seen, applied oldest first
        (each deduplicated by its event id, like a late webhook). With several replicas an
        agent's message whose webhook reached a replica as it died is retried by Rocket.Chat
        only ~20 s later; running this before a later message keeps the citizen's order.
        It stops at the arriving ones: they are the webhook's own to apply (applying them
        here would make the webhook's a duplicate transaction), and what follows them in
        the history has webhooks of its own on the way, which must not overtake them; if
        none of them is in the window read, nothing is replayed (all of it may be newer).
        Best effort: a history that cannot be read leaves the order to the webhooks."""
        storage = self._intake.storage
        conv = await storage.room_conversation(room_id)
        token = self._token_of(conv) if conv is not None else None
        if conv is None or conv.room_id is None or token is None:
            return 0
        try:
            async with asyncio.timeout(ORDER_READ_TIMEOUT):
                history = list(await self._rc.history(token, conv.room_id, RECENT))
        except DeliveryError as exc:
            log.warning("reconcile.order_unchecked", conversation=conv.id, reason=exc.reason)
            return 0
        except TimeoutError:
            log.warning("reconcile.order_unchecked", conversation=conv.id, reason="timeout")
            return 0
        found: list[tuple[RoomEvent, str]] = []
        for event in events_from_history(conv, history, time.time()):
            if (event_id := _event_id(event)) in arriving:
                break
            found.append((event, event_id))
        else:
            if arriving:
                # Not among the last RECENT: a late retry, a long burst, an edit edited
                # again. What the window holds may all be newer: leave it to its webhooks.
                return 0
        if not found:
            return 0
        # One read for what is known already: usually everything, and nothing is written.
        known = await storage.seen_ids("rocketchat", [i for _, i in found])
        events = [self._intake.room_event(e, i) for e, i in found if i not in known]
        return accepted(await self._intake.accept(events)) if events else 0

    async def _room(self, conv: Conversation) -> int:
        token = self._token_of(conv)
        assert conv.room_id is not None and token is not None
        history = list(await self._rc.history(token, conv.room_id, HISTORY_LIMIT))
        intake = self._intake
        events = [
            intake.room_event(event, _event_id(event))
            for event in events_from_history(conv, history, time.time())
        ]
        results = await intake.accept(events)
        for result in results:
            if isinstance(result, Failed):
                log.error(
                    "reconcile.event_failed",
                    conversation=conv.id,
                    error=type(result.error).__name__,
                    exc_info=result.error,
                )
        return accepted(results)


def _event_id(event: RoomEvent) -> str:
    return event.event_id if isinstance(event, AgentMessage) else f"closed:{event.room_id}"
