"""The outbox worker: all remote I/O, oldest-first per (conversation, destination), retried here
and only here, dead-lettered after the limit."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, replace

import structlog

from bridge.core import decide
from bridge.core.delivery import Delivered, Deliverer, RoomOpened
from bridge.core.intake import Intake
from bridge.core.model import (
    Conversation,
    Destination,
    OpenRoom,
    OutboundFailed,
    RelayToRoom,
    RoomId,
    SendFile,
    SendText,
    State,
    VisitorToken,
    WaMessageId,
)
from bridge.core.ports import (
    NoAgentOnline,
    Permanent,
    RateLimited,
    Retryable,
    RoomIsClosed,
    VisitorIsGone,
)
from bridge.store import OutboxRow

log = structlog.get_logger("bridge.outbox")


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 1.0
    cap: float = 300.0
    limit: int = 12
    no_agent_delay: float = 120.0

    def delay(self, attempts: int, hint: float | None) -> float:
        # Full jitter keeps a thousand rows that failed together from retrying together.
        backoff = random.uniform(self.base, min(self.cap, self.base * 2**attempts))
        return max(backoff, hint or 0.0)


class Outbox:
    def __init__(
        self,
        intake: Intake,
        deliverer: Deliverer,
        retry: RetryPolicy,
        doorbell: asyncio.Event,
        concurrency: int = 32,
    ) -> None:
        self._intake = intake
        self._store = intake.store
        self._deliverer = deliverer
        self._retry = retry
        self._slots = concurrency
        self._busy: set[tuple[int, Destination]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup = doorbell
        self.dead_letters = 0

    def idle(self) -> bool:
        """True when no delivery is in flight (tests and the sandbox wait on it)."""
        return not self._tasks

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        """Deliver until cancelled; in-flight deliveries are cancelled with it."""
        try:
            while True:
                self._wakeup.clear()
                try:
                    next_at = await self._dispatch()
                except Exception:  # e.g. the disk is full: keep trying, never stop delivering
                    log.exception("outbox.dispatch_failed")
                    next_at = None
                await self._wait(next_at)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _dispatch(self) -> float | None:
        free = self._slots - len(self._tasks)
        async with self._store.transaction() as tx:
            rows = await tx.due(free, self._busy) if free > 0 else []
            # Read with the rows, in this one transaction, instead of one per delivery.
            conversations = await tx.conversations_by_ids(r.conversation_id for r in rows)
            next_at = await tx.next_due_at()
        for row in rows:
            self._busy.add(row.lane)
            conv = conversations.get(row.conversation_id)
            task = asyncio.create_task(self._deliver(row, conv))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return next_at

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.wake()

    async def _wait(self, next_at: float | None) -> None:
        # Something due but not dispatched (its lane is busy, or no free slot) is picked up
        # when a delivery finishes and wakes us; the cap is only a safety net.
        timeout = 1.0 if next_at is None else min(1.0, max(0.0, next_at - time.time()))
        if timeout <= 0:
            timeout = 1.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _deliver(self, row: OutboxRow, conv: Conversation | None) -> None:
        bound = log.bind(
            row=row.id, conversation=row.conversation_id, kind=type(row.command).__name__
        )
        try:
            if conv is not None:
                await self._attempt(row, conv, bound)
        except Exception:  # the one error boundary per delivery: log, retry later
            bound.exception("outbox.crashed")
            await self._retry_later(row, "internal error", None, bound)
        finally:
            self._busy.discard(row.lane)

    async def _attempt(
        self, row: OutboxRow, conv: Conversation, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        try:
            ref = f"{row.id}@{row.created_at!r}"
            done = await self._deliverer.deliver(ref, row.command, conv, self._opened(conv))
        except RateLimited as exc:
            await self._wait_out(row, exc, bound)
        except Retryable as exc:
            await self._retry_later(row, exc.reason, exc.after, bound)
        except Permanent as exc:
            await self._give_up(row, conv, exc, bound)
        except NoAgentOnline:
            await self._no_agent(row, bound)
        except (RoomIsClosed, VisitorIsGone) as exc:
            await self._bounce(row, exc, bound)
        else:
            await self._finish(row, done)
            bound.debug("outbox.sent", attempts=row.attempts + 1)

    def _opened(self, conv: Conversation) -> RoomOpened:
        async def opened(token: VisitorToken, room: RoomId) -> None:
            async with self._store.transaction() as tx:
                fresh = await tx.conversation_by_id(conv.id)
                if fresh is not None:
                    await tx.save(
                        replace(fresh, visitor_token=token, room_id=room, state=State.AGENT)
                    )
                    await tx.count("room_opened", fresh.department)
            log.info("outbox.room_opened", conversation=conv.id, room_id=room)

        return opened

    async def _finish(self, row: OutboxRow, done: Delivered) -> None:
        async with self._store.transaction() as tx:
            await tx.finish(row.id)
            for whatsapp_id, rocketchat_id, direction in done.links:
                await tx.link(whatsapp_id, rocketchat_id, row.conversation_id, direction)

    async def _retry_later(
        self,
        row: OutboxRow,
        reason: str,
        hint: float | None,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        attempts = row.attempts + 1
        if attempts >= self._retry.limit:
            await self._bury(row, attempts, reason, bound)
            return
        delay = self._retry.delay(attempts, hint)
        bound.info("outbox.retry", attempts=attempts, delay=round(delay, 3), reason=reason)
        async with self._store.transaction() as tx:
            await tx.reschedule(row.id, attempts=attempts, at=tx.now + delay, error=reason)

    async def _wait_out(
        self, row: OutboxRow, exc: RateLimited, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        """The server scheduled a wait: honour it without spending the retry budget, and
        spread the rows that waited together so they do not all return at the reset."""
        # Graph's throttling codes come without Retry-After (contract §7.2: "backoff"):
        # wait longer the longer the row has waited, so an hourly quota is not hammered.
        age = max(0.0, time.time() - row.created_at)
        wait = exc.after if exc.after is not None else min(self._retry.cap, age)
        delay = max(wait, self._retry.base) + random.uniform(0, self._retry.base)
        bound.info("outbox.rate_limited", delay=round(delay, 3), reason=exc.reason)
        async with self._store.transaction() as tx:
            await tx.reschedule(row.id, attempts=row.attempts, at=tx.now + delay, error=exc.reason)

    async def _give_up(
        self,
        row: OutboxRow,
        conv: Conversation,
        exc: Permanent,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        await self._bury(row, row.attempts + 1, exc.reason, bound)
        if isinstance(row.command, SendText | SendFile) and exc.code is not None:
            # The citizen never got the agent's words: say so in the room.
            event = OutboundFailed(WaMessageId(f"outbox-{row.id}"), exc.code, exc.reason)
            async with self._store.transaction() as tx:
                fresh = await tx.conversation_by_id(conv.id) or conv
                await Intake.apply(tx, decide.on_outbound_failed(fresh, event, self._intake.policy))

    async def _bury(
        self,
        row: OutboxRow,
        attempts: int,
        reason: str,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.dead_letters += 1
        bound.error("outbox.dead", attempts=attempts, reason=reason)
        async with self._store.transaction() as tx:
            await tx.bury(row.id, attempts, reason)
            await tx.count("dead_letter", row.destination.value)
            if isinstance(row.command, OpenRoom):
                conv = await tx.conversation_by_id(row.conversation_id)
                if conv is not None:
                    tell = self._intake.policy.texts.handoff_failed
                    await Intake.apply(tx, decide.on_room_request_dead(conv, tell))

    async def _no_agent(self, row: OutboxRow, bound: structlog.typing.FilteringBoundLogger) -> None:
        assert isinstance(row.command, OpenRoom)
        bot = self._intake.bot
        if bot is not None and decide.gives_back(row.command):
            await self._give_back(row, row.command, bot, bound)
            return
        command, tell = decide.on_no_agent(row.command, self._intake.policy)
        # 'queue': once the citizen is told, open the room at once and let it wait there.
        queue_now = command.offline == "queue" and bool(tell)
        delay = 0.0 if queue_now else self._retry.no_agent_delay
        bound.info("outbox.no_agent_online", delay=delay)
        async with self._store.transaction() as tx:
            await tx.reschedule(
                row.id,
                attempts=row.attempts,
                at=tx.now + delay,
                error="no-agent-online",
                command=command,
            )
            if tell:
                await tx.enqueue(row.conversation_id, tell)
                await tx.count("no_agent_online", command.department)

    async def _give_back(
        self,
        row: OutboxRow,
        command: OpenRoom,
        bot: decide.Bot,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        """Nobody online and the flow does not queue: the bot tells the citizen and keeps
        the conversation; messages queued behind the request bounce back to the bot."""
        bound.info("outbox.no_agent_online", policy=command.offline)
        async with self._store.transaction() as tx:
            known = await tx.conversation_by_id(row.conversation_id)
        if known is None:
            return
        async with self._intake.locks(known.key), self._store.transaction() as tx:
            await tx.finish(row.id)
            conv = await tx.conversation_by_id(row.conversation_id)
            if conv is not None and conv.state is State.WAITING:
                await Intake.apply(
                    tx, decide.on_no_agent_bot(conv, command, bot, self._intake.policy)
                )

    async def _bounce(
        self, row: OutboxRow, exc: Exception, bound: structlog.typing.FilteringBoundLogger
    ) -> None:
        """The room is gone under a relay: the message starts a new contact (issue #2 §6)."""
        if not isinstance(row.command, RelayToRoom):
            bound.info("outbox.dropped", reason=str(exc))  # notices/files for a closed room
            async with self._store.transaction() as tx:
                await tx.finish(row.id)
                conv = await tx.conversation_by_id(row.conversation_id)
                if isinstance(row.command, OpenRoom) and conv is not None:
                    await Intake.apply(tx, decide.on_room_request_dead(conv))
            return
        bound.info("outbox.bounced", reason=str(exc))
        intake = self._intake
        async with intake.locks(row.command.message.key), self._store.transaction() as tx:
            await tx.finish(row.id)
            conv = await tx.conversation_by_id(row.conversation_id)
            if conv is None:
                return
            if conv.state is State.WAITING and not await tx.room_requested(conv.id):
                # Waiting for a room nobody is asking for any more: never wait behind it.
                conv = await Intake.apply(tx, decide.on_room_request_dead(conv))
            decision = decide.on_bounce(conv, row.command.message, intake.policy, intake.bot)
            await Intake.apply(tx, decision)
