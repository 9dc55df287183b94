"""The outbox worker: all remote I/O. It claims the due head row of each lane (conversation,
destination), or is handed it by intake in the transaction that queued it (`hand_off`),
delivers it, classifies the result and hands the store the settlement (`outcomes`) to
write in one transaction. Retried here and only here."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Sequence

import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from bridge.core import outcomes
from bridge.core.delivery import Deliverer, RoomOpened
from bridge.core.lines import Lines
from bridge.core.model import (
    Command,
    Conversation,
    OpenRoom,
    RelayToRoom,
    RoomId,
    SendFile,
    VisitorToken,
)
from bridge.core.observe import Observer, Unobserved
from bridge.core.outcomes import RetryPolicy, Rules
from bridge.core.ports import (
    NoAgentOnline,
    Permanent,
    RateLimited,
    Retryable,
    RoomIsClosed,
    VisitorIsGone,
    WindowClosed,
)
from bridge.core.storage import (
    Bury,
    ById,
    Claim,
    Event,
    Failed,
    Finish,
    HandOff,
    Hold,
    OutboxRow,
    Reschedule,
    Settled,
    Settlement,
    Storage,
    StorageUnavailable,
)

log = structlog.get_logger("bridge.outbox")

# Rows a delivery hands on within its lane while other lanes wait for a slot. Without a
# bound, a lane that never empties keeps its slot: with more busy conversations than
# BRIDGE_OUTBOX_CONCURRENCY the others waited for seconds (bench relay at 2,300/s, 100
# conversations, 64 slots: delivery p99 1.5-1.8 s against 75-130 ms with 128 slots). Each
# turn given back costs one claim through the dispatcher instead of a hand-on; measured
# with and without the turns in alternation (1,100/s offered, past the ceiling): delivery
# p99 0.7-2.0 s against 1.2-3.3 s, the same throughput and CPU a message.
FAIR_TURNS = 8
RETRY_AFTER_A_BUG = 60.0  # seconds before a row whose settlement raised is tried again

Logger = structlog.typing.FilteringBoundLogger


class Outbox:
    """`lease` bounds how long a claimed lane stays ours without a settlement; every
    delivery is cut off well before it (`deadline`), so a lease only runs out when its
    process died."""

    def __init__(
        self,
        storage: Storage,
        deliverer: Deliverer,
        lines: Lines,
        retry: RetryPolicy,
        doorbell: asyncio.Event,
        *,
        owner: str,
        concurrency: int,
        lease: float = 900.0,
        observer: Observer | None = None,
    ) -> None:
        self._storage = storage
        self._observer = observer or Unobserved()
        self._deliverer = deliverer
        self._lines = lines
        self._retry = retry
        self._wakeup = doorbell
        self._owner = owner
        self._slots = concurrency
        self._lease = lease
        self._deadline = lease * 0.8
        self._inflight: dict[asyncio.Task[None], Claim] = {}
        self._waiting: deque[Claim] = deque()  # handed off while every slot was busy
        self._taking = True  # False once stopped: intake keeps its rows to the dispatcher
        self._starved = False  # the last dispatch had more due rows than free slots

    def idle(self) -> bool:
        """True when no delivery is in flight (tests and the sandbox wait on it)."""
        return not self._inflight and not self._waiting

    def wake(self) -> None:
        self._wakeup.set()

    def hand_off(self) -> HandOff | None:
        """What intake asks the store to lease the lanes it starts to, so they come
        straight here instead of through a claim (one durable commit fewer per message).
        None once stopped, or while a claim handed off before waits for a slot: then new
        lanes are left to the dispatcher, whose claims (oldest due row first) take their
        turn with retries and rows due again, which only it can reach."""
        if not self._taking or self._waiting:
            return None
        return HandOff(self._owner, self._lease)

    def adopt(self, claims: Sequence[Claim]) -> bool:
        """Deliver claims leased by a hand-off; those beyond the free slots (several
        webhooks may have asked at once) wait their turn here, in order. False once
        stopped: the caller gives them back."""
        if not self._taking:
            return False
        self._waiting.extend(claims)
        self._start_waiting()
        return True

    def _start_waiting(self) -> None:
        while self._waiting and len(self._inflight) < self._slots:
            self._start(self._waiting.popleft())

    def _start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._deliver(claim))
        self._inflight[task] = claim
        task.add_done_callback(self._done)

    async def run(self) -> None:
        """Deliver until cancelled; in-flight deliveries are cancelled with it and their
        leases given back, so the next start delivers them at once. If the dispatch loop
        itself crashes, deliveries under way finish on their own and the supervisor starts
        the loop again."""
        self._taking = True
        try:
            while True:
                self._wakeup.clear()
                await self._wait(await self._dispatch())
        except asyncio.CancelledError:
            await self._stop()
            raise

    async def _dispatch(self) -> float | None:
        free = self._slots - len(self._inflight) - len(self._waiting)
        self._starved = free <= 0
        if self._starved:
            return None
        try:
            claimed = await self._storage.claim(self._owner, free, self._lease)
        except StorageUnavailable as exc:
            log.warning("outbox.storage_unavailable", error=str(exc))
            return time.time() + 1.0
        for claim in claimed.claims:
            self._start(claim)
        self._starved = len(claimed.claims) >= free
        return claimed.next_due_at

    def _done(self, task: asyncio.Task[None]) -> None:
        claim = self._inflight.pop(task, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            # _attempt and _settle catch everything; this is the net under both (its
            # row comes back when its lease runs out)
            row = claim.row.id if claim is not None else None
            log.error("outbox.delivery_crashed", row=row, exc_info=error)
        self._start_waiting()
        if self._starved:  # a slot is free again for what the last dispatch left
            self.wake()

    async def _wait(self, next_at: float | None) -> None:
        # Something due but not handed out (its lane is busy, no free slot) is picked up
        # when a delivery finishes and wakes us; the cap is only a safety net (and the
        # poll that finds work another process enqueued).
        timeout = 1.0 if next_at is None else min(1.0, next_at - time.time())
        if timeout <= 0:
            timeout = 1.0
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # lands as the event is set, and the worker would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()

    async def _stop(self) -> None:
        self._taking = False
        claims = [*self._inflight.values(), *self._waiting]
        self._waiting.clear()
        for task in self._inflight:
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        if claims:
            with contextlib.suppress(Exception):
                await self._storage.release(claims)

    async def _deliver(self, claim: Claim | None) -> None:
        """Work a lane through: each settlement hands over the lane's next due row, for
        up to FAIR_TURNS rows while other lanes wait for a slot; then the lane goes back
        to the queue (oldest row first) and the slot to whoever waited."""
        task = asyncio.current_task()
        turns = 0
        while claim is not None:
            if task is not None:
                self._inflight[task] = claim  # what to give back if we are stopped
            settlement = await self._attempt(claim)
            _log_settlement(settlement)
            self._observer.settled(settlement)
            turns += 1
            yielding = turns >= FAIR_TURNS and self._others_wait()
            claim = await self._settle(settlement.leasing_next(None if yielding else self._lease))
            if yielding or settlement.step is not None or isinstance(settlement.change, Reschedule):
                self.wake()  # rows for other lanes, or a new due time, for the dispatcher

    def _others_wait(self) -> bool:
        """Claims handed off wait for a slot, or the last dispatch left due rows behind."""
        return bool(self._waiting) or self._starved

    async def _attempt(self, claim: Claim) -> Settlement:
        row = claim.row
        try:
            # One HTTP call is bounded by the client's own timeout; a command that makes
            # several (a room, a file) is bounded as a whole, well inside its lease.
            several = _several_calls(row.command)
            async with asyncio.timeout(self._deadline) if several else contextlib.nullcontext():
                done = await self._deliverer.deliver(
                    f"{row.id}@{row.created_at!r}",
                    row.command,
                    claim.conversation,
                    self._opened(claim.conversation),
                )
        except Exception as exc:  # every failure, classified in _failed
            return self._failed(claim, exc)
        if done.file_refused:
            rules = self._rules_for(claim)
            return outcomes.delivered(claim, done.links, rules, done.file_refused)
        return outcomes.delivered(claim, done.links)

    def _failed(self, claim: Claim, exc: Exception) -> Settlement:
        """What a failed delivery changes (called inside the `except`, so the crash case
        logs its traceback)."""
        row, rules, jitter = claim.row, self._rules_for(claim), random.random()
        match exc:
            case RateLimited():
                age = time.time() - row.created_at
                return outcomes.rate_limited(
                    claim, exc.reason, exc.after, age=age, rules=rules, jitter=jitter
                )
            case Retryable():
                return outcomes.retry_later(claim, exc.reason, exc.after, rules, jitter)
            case TimeoutError():
                return outcomes.retry_later(claim, "delivery timed out", None, rules, jitter)
            case Permanent():
                return outcomes.gave_up(claim, exc.reason, exc.code, rules)
            case NoAgentOnline():
                return outcomes.no_agent(claim, rules)
            case WindowClosed():
                return outcomes.window_closed(claim, rules, time.time())
            case RoomIsClosed() | VisitorIsGone():
                _bound(row).info("outbox.bounced", reason=str(exc))
                return outcomes.bounced(claim, rules)
        # The one error boundary per delivery: log, retry later.
        _bound(row).exception("outbox.crashed")
        return outcomes.retry_later(claim, "internal error", None, rules, jitter)

    async def _settle(self, settlement: Settlement) -> Claim | None:
        """Write the result; the lane's next row when the store handed it over.

        A settlement that raises in the store (a bug in its step, a row it cannot write
        back) would leave the row leased, delivered again when the lease runs out, and
        its lane stopped behind it, for good: the result is written again without the
        step, and as a last resort the row is set aside as a dead letter."""
        settled: Settled | None = None
        for attempt in (settlement, *_plainer(settlement)):
            try:
                settled = await self._write(attempt)
                break
            except Exception:  # the settlement's error boundary: logged, never stops the lane
                _bound(attempt.claim.row).exception("outbox.settle_crashed")
        if settled is not None and attempt is not settlement:
            self.wake()  # the lane's next row was not handed on: the dispatcher takes it
        if settled is None:
            return None
        if not settled.held:
            _bound(settlement.claim.row).warning("outbox.lease_lost")
        return settled.next

    async def _write(self, settlement: Settlement) -> Settled | None:
        try:
            return await self._storage.settle(settlement)
        except StorageUnavailable:
            return await self._settle_patiently(settlement)

    async def _settle_patiently(self, settlement: Settlement) -> Settled | None:
        # A database that fails for a moment must not turn a delivered message into a
        # second delivery: keep trying for a while. Past that the lease runs out and the
        # row is delivered again (at least once).
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(StorageUnavailable),
            wait=wait_exponential(multiplier=0.05, max=5),
            stop=stop_after_delay(self._deadline),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._storage.settle(settlement.leasing_next(None))
        except StorageUnavailable as exc:
            _bound(settlement.claim.row).error("outbox.settle_failed", error=str(exc))
        return None

    def _rules_for(self, claim: Claim) -> Rules:
        line = self._lines.of(claim.conversation.key.phone_number_id)
        return Rules(line.policy, line.bot, self._retry)

    def _opened(self, conv: Conversation) -> RoomOpened:
        async def opened(token: VisitorToken, room: RoomId) -> None:
            event = Event(ById(conv.id), outcomes.room_opened(token, room))
            [result] = await self._storage.apply([event])
            if isinstance(result, Failed):
                raise result.error
            log.info("outbox.room_opened", conversation=conv.id, room_id=room)

        return opened


def _bound(row: OutboxRow) -> Logger:
    kind = type(row.command).__name__
    bound: Logger = log.bind(row=row.id, conversation=row.conversation_id, kind=kind)
    return bound


def _plainer(settlement: Settlement) -> tuple[Settlement, ...]:
    """What to write when `settlement` raised: its row change alone (a delivered message
    must not go out again), then the row set aside. A hold is retried instead: without
    its step nothing would ever release it."""
    claim = settlement.claim
    reason = "internal error while settling"
    dead = Bury(claim.row.attempts + 1, reason)
    buried = Settlement(claim, dead, counters=(("dead_letter", claim.row.destination.value),))
    if settlement.step is None and not settlement.links and not settlement.counters:
        return (buried,)
    change = settlement.change
    if isinstance(change, Hold):
        change = Reschedule(RETRY_AFTER_A_BUG, claim.row.attempts + 1, reason)
    return (Settlement(claim, change, settlement.links), buried)


def _several_calls(command: Command) -> bool:
    if isinstance(command, RelayToRoom):
        return command.message.media is not None
    return isinstance(command, OpenRoom | SendFile)


def _log_settlement(settlement: Settlement) -> None:
    change, row = settlement.change, settlement.claim.row
    if isinstance(change, Finish):
        log.debug("outbox.settled", row=row.id, attempts=row.attempts + 1)
    elif isinstance(change, Reschedule):
        delay = round(change.delay, 3)
        _bound(row).info("outbox.retry", attempts=change.attempts, delay=delay, reason=change.error)
    elif isinstance(change, Bury):
        _bound(row).error("outbox.dead", attempts=change.attempts, reason=change.error)
    elif isinstance(change, Hold):
        _bound(row).info("outbox.held", reason="24 h window closed")
