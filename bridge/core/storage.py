"""The storage port: what the core needs from a database, in the core's own terms.

The core hands a backend *pure steps*: which conversation to read, what to record as seen,
and a function from the conversation to a `Decision`. A backend runs each as one
transaction (in one trip to the database where it can), may commit many of them together
(group commit), and releases each caller only after the shared commit is durable. One
step that raises is rolled back alone; its neighbours in the same commit are not touched.

Outbox rows are handed out as *claims*: a lane (conversation, destination) is claimed by
its head row under a lease, so no two deliveries of one lane run at once, in this process
or another; a settlement whose lease was taken over is refused. Nothing here assumes a
single process: that is what lets a second backend run several replicas. An event may also
be applied with a `HandOff`: the head row of each lane it starts is leased in the same
transaction and comes back as a claim, so the process that took the event delivers it
without a second transaction (and a second durable commit) to claim it.

`tests/store/test_contract.py` is the definition of a correct backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bridge.core.decide import Decision
from bridge.core.model import Command, Conversation, ConversationKey, Destination

Lane = tuple[int, Destination]


class StorageUnavailable(Exception):
    """The database itself cannot take writes now (disk full, I/O error, locked, gone).

    Webhooks answer 503 so the sender retries; nothing the caller sent was kept."""


class UnreadableRow(ValueError):
    """A stored row this code cannot read (written by a newer release, or damaged)."""


# --- finding the conversation an event belongs to -----------------------------------------


@dataclass(frozen=True)
class ByKey:
    """The citizen's conversation on our number; created on the first message."""

    key: ConversationKey
    profile_name: str = ""


@dataclass(frozen=True)
class ByRoom:
    room_id: str


@dataclass(frozen=True)
class ByOutbound:
    """The conversation a WhatsApp message we sent belongs to."""

    wamid: str


@dataclass(frozen=True)
class ById:
    conversation_id: int


Find = ByKey | ByRoom | ByOutbound | ById


@dataclass(frozen=True)
class Seen:
    """A delivery recorded once for good; the same (source, id) again is a duplicate."""

    source: str
    external_id: str


@dataclass(frozen=True)
class Event:
    """One event as one transaction: find the conversation, record `seen`, decide, write.

    `step` must be pure (it may run on the database's own thread, and again on a retry)."""

    find: Find
    step: Callable[[Conversation], Decision]
    seen: Seen | None = None


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # `seen` was recorded before: nothing written
    UNKNOWN = "unknown"  # no such conversation (a room of another channel): nothing written


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    conversation: Conversation | None = None  # as written
    enqueued: int = 0
    claims: tuple[Claim, ...] = ()  # rows leased to the HandOff the event came with


@dataclass(frozen=True)
class HandOff:
    """Lease the head row of each lane an event starts (an idle lane) to `owner` for
    `lease` seconds, as a claim would; rows queued behind a busy lane are left to it."""

    owner: str
    lease: float


@dataclass(frozen=True)
class Failed:
    """The step (or reading the conversation) raised: rolled back alone."""

    error: BaseException


# --- the outbox ------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    id: int
    conversation_id: int
    destination: Destination
    command: Command
    attempts: int
    created_at: float

    @property
    def lane(self) -> Lane:
        return (self.conversation_id, self.destination)


@dataclass(frozen=True)
class Claim:
    """The head row of a lane, leased to one delivery until settled or `lease` runs out."""

    row: OutboxRow
    conversation: Conversation
    lease: str


@dataclass(frozen=True)
class Claimed:
    claims: Sequence[Claim]
    next_due_at: float | None  # the earliest pending row not handed out, if any
    set_aside: int = 0  # unreadable rows buried as dead letters by this claim


@dataclass(frozen=True)
class Finish:
    """Delivered (or dropped on purpose): the row leaves the outbox."""


@dataclass(frozen=True)
class Reschedule:
    delay: float  # seconds from the commit
    attempts: int
    error: str
    command: Command | None = None  # replaces the stored command (e.g. told_no_agent)


@dataclass(frozen=True)
class Bury:
    """Given up: kept as a dead letter with its reason, out of its lane."""

    attempts: int
    error: str


@dataclass(frozen=True)
class Hold:
    """Out of its lane until the conversation's held messages are released (a Decision
    with `release_held`): an agent's message waiting for the citizen to reopen the window."""


RowChange = Finish | Reschedule | Bury | Hold


@dataclass(frozen=True)
class Pending:
    """What is still queued for the conversation, after the row change was applied."""

    room_request: bool  # an OpenRoom is still pending


@dataclass(frozen=True)
class Link:
    """Which WhatsApp message became which Rocket.Chat message."""

    whatsapp_id: str
    rocketchat_id: str
    direction: str  # 'in' (citizen -> room) | 'out' (agent -> citizen)
    excerpt: str = ""  # the first words, to show what a later reply or reaction refers to


@dataclass(frozen=True)
class Settlement:
    """A delivery's result, written in one transaction if the lease is still held.

    With `then_lease`, a row that left its lane (Finish, Bury) hands the lane on: its next
    due row is claimed in the same transaction, under a lease of that many seconds, so a
    busy lane is worked through without going back to the queue."""

    claim: Claim
    change: RowChange
    links: tuple[Link, ...] = ()
    counters: tuple[tuple[str, str], ...] = ()
    step: Callable[[Conversation, Pending], Decision] | None = None
    then_lease: float | None = None

    def leasing_next(self, lease: float | None) -> Settlement:
        """The same result, with or without the hand-on (`then_lease`). Built directly:
        dataclasses.replace re-reads the fields at every call, and this runs once per
        delivered message."""
        return Settlement(self.claim, self.change, self.links, self.counters, self.step, lease)


@dataclass(frozen=True)
class Settled:
    held: bool  # False: the lease was lost and nothing was written
    next: Claim | None = None  # the lane's next row, when `then_lease` asked for it


# --- reads for operations --------------------------------------------------------------


@dataclass(frozen=True)
class SurveyRecord:
    conversation_id: int
    department: str
    score: int
    comment: str | None


@dataclass(frozen=True)
class CounterRecord:
    day: str  # YYYY-MM-DD, UTC
    name: str
    label: str
    value: int


class Storage(Protocol):
    async def apply(
        self, events: Sequence[Event], hand_off: HandOff | None = None
    ) -> list[Applied | Failed]:
        """Each event as its own transaction (several may share a commit), in order; one
        whose step raises is rolled back alone and returned as Failed. Raises
        StorageUnavailable if any of them could not be committed (the ones before it may
        have been). With `hand_off`, each Applied carries the claims leased to it."""
        ...

    async def record_rejected(self, source: str, reason: str, body: bytes) -> None:
        """Keep a signed payload (or one item of it) the bridge could not use, for audit."""
        ...

    async def claim(self, owner: str, limit: int, lease: float) -> Claimed:
        """Lease the due head row of up to `limit` lanes nobody holds a live lease on."""
        ...

    async def settle(self, settlement: Settlement) -> Settled:
        """Write a delivery's result, unless the lease was lost (then nothing is written)."""
        ...

    async def release(self, claims: Sequence[Claim]) -> None:
        """Give leases back unsettled (shutdown): the rows are due again at once."""
        ...

    async def open_rooms(self) -> list[Conversation]:
        """Conversations with an open room (reconciliation), from a read-only connection."""
        ...

    async def seen_ids(self, source: str, external_ids: Sequence[str]) -> set[str]:
        """Which of these deliveries were recorded already (read without a lock)."""
        ...

    async def room_conversation(self, room_id: str) -> Conversation | None:
        """The conversation whose open room this is, read without a lock."""
        ...

    async def outbox_depth(self) -> dict[str, int]:
        """Rows per state ('pending', 'held', 'dead')."""
        ...

    async def outbox_backlog(self) -> list[tuple[str, str, int, float | None]]:
        """(destination, state, rows, oldest created_at) for /metrics."""
        ...

    async def conversation_states(self) -> dict[str, int]:
        """Conversations per state ('bot', 'waiting', 'agent')."""
        ...

    async def counters(self) -> list[CounterRecord]: ...

    async def excerpt(self, whatsapp_id: str) -> str | None: ...

    async def whatsapp_id(self, rocketchat_id: str) -> str | None: ...

    async def relayed(self, rocketchat_id: str, excerpt: str) -> bool: ...

    async def surveys(self) -> list[SurveyRecord]: ...

    async def check_writable(self) -> None:
        """Raise StorageUnavailable unless a write transaction can be started now."""
        ...

    async def maintain(self) -> None:
        """Background upkeep the backend needs; runs (supervised) until cancelled."""
        ...

    async def watch(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever another process queued outbox work; runs until cancelled
        (returns at once where one process owns the database)."""
        ...

    def lead(self, role: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one doing `role` (the reconciler): at
        once with one process; with several, when the current leader is gone."""
        ...

    async def close(self) -> None: ...
