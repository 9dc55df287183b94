"""The SQL of one transaction on PostgreSQL: conversations, records and the outbox's lanes,
the same statements as the SQLite backend's tx.py and lanes.py, asynchronous, and with
row locks where several replicas meet: an event locks its conversation (FOR UPDATE), a
claim skips lanes another replica is claiming (FOR UPDATE SKIP LOCKED), and a settlement
checks its lease under the lane's lock."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import structlog

from bridge.core.contacts import ContactChange, contact_change
from bridge.core.decide import Decision
from bridge.core.model import Command, Conversation, ConversationKey, command_to_json
from bridge.core.storage import (
    Bury,
    ById,
    ByKey,
    Claim,
    Find,
    Finish,
    Hold,
    Link,
    Pending,
    Reschedule,
    Settled,
    Settlement,
    UnreadableRow,
)
from bridge.store.rows import (
    CONVERSATION_COLUMNS,
    EXCERPT,
    OUTBOX_HEAD,
    contact_columns,
    contact_update,
    conversation,
    day_of,
    find_where,
    outbox_row,
    queued_claim,
)

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    # A connection of its own (migrations) or one lent by the pool.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]

log = structlog.get_logger("bridge.store.postgres")


# One command into the outbox and its lane, in one statement (one round trip while the
# transaction holds its row locks). The lane's insert reads the new row's id from the
# outbox's RETURNING, and a lane row it conflicts with is updated as its own statement
# did before: ON CONFLICT acts on the latest committed row, not the statement's snapshot.
_QUEUED = (
    "INSERT INTO outbox (conversation_id, destination, command, next_attempt_at, created_at)"
    " VALUES ($1, $2, $3, $4, $4) RETURNING id, conversation_id, destination, next_attempt_at"
)
# DO UPDATE (a no-op), not DO NOTHING: it waits for a settlement holding the lane, which
# may be about to delete it for want of a next row it cannot see yet; then this row
# becomes the head of a fresh lane instead of being left out. A fresh lane takes the
# hand-off's lease ($5, $6; NULL without one); RETURNING reads the lane as it stands, so
# the new row was leased to us only when it is the lane's head and the lease is ours.
_LANE = (
    "INSERT INTO lane (conversation_id, destination, head_id, due_at, lease, lease_until)"
    " SELECT conversation_id, destination, id, next_attempt_at, $5::text,"
    " $6::double precision FROM queued"
    " ON CONFLICT (conversation_id, destination) DO UPDATE SET head_id = lane.head_id"
    " RETURNING head_id, lease"
)
_LANED = f"WITH queued AS ({_QUEUED}), laned AS ({_LANE}) SELECT q.id, l.head_id, l.lease"
ENQUEUE = f"{_LANED} FROM queued AS q, laned AS l"
# The last command of a transaction also NOTIFYs, in the same statement (one row: one
# NOTIFY), delivered to the other replicas' LISTEN at commit, not before (store.watch).
ENQUEUE_AND_NOTIFY = f"{_LANED}, pg_notify('bridge_outbox', $7) FROM queued AS q, laned AS l"


@functools.lru_cache(maxsize=64)
def numbered(sql: str) -> str:
    """`?` placeholders (the SQL both backends share) as PostgreSQL's $1, $2, ..."""
    marks = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(marks)}", sql)


class PgTx:
    """One unit's view of an open transaction. `now` is read once per unit. With
    `hand_off_to` (lease token, lease end), the head row of each lane the unit starts is
    leased to it and collected in `claims` (bridge.core.storage.HandOff)."""

    def __init__(self, conn: Conn, now: float, origin: str = "") -> None:
        """`origin`: the store's own name, the payload of its NOTIFYs (store.watch)."""
        self.conn = conn
        self.now = now
        self.origin = origin
        self.hand_off_to: tuple[str, float] | None = None
        self.claims: list[Claim] = []

    # --- conversations ------------------------------------------------------------------

    async def find(self, find: Find, *, lock: bool = True) -> Conversation | None:
        where, args = find_where(find)
        sql = f"SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE {where}"
        row = await self.conn.fetchrow(numbered(sql + (" FOR UPDATE" if lock else "")), *args)
        return conversation(row) if row else None

    async def create(self, key: ConversationKey, profile_name: str) -> Conversation:
        """The conversation, created unless another replica just did (then locked)."""
        conv_id = await self.conn.fetchval(
            "INSERT INTO conversation (phone_number_id, wa_id, profile_name, updated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (phone_number_id, wa_id) DO NOTHING"
            " RETURNING id",
            key.phone_number_id, key.wa_id, profile_name, self.now,
        )  # fmt: skip
        if conv_id is not None:
            return Conversation(id=conv_id, key=key, profile_name=profile_name)
        found = await self.find(ByKey(key))
        if found is None:  # pragma: no cover - the conflicting row cannot vanish
            raise UnreadableRow(f"conversation {key} disappeared")
        return found

    async def save(self, conv: Conversation) -> None:
        await self.conn.execute(
            "UPDATE conversation SET profile_name = $1, state = $2, department = $3,"
            " visitor_token = $4, room_id = $5, bot_state = $6, last_citizen_at = $7,"
            " held_since = $8, last_wamid = $9, updated_at = $10 WHERE id = $11",
            conv.profile_name, conv.state.value, conv.department, conv.visitor_token,
            conv.room_id, conv.bot_state, conv.last_citizen_at, conv.held_since,
            conv.last_wamid, self.now, conv.id,
        )  # fmt: skip

    async def write(self, before: Conversation, decision: Decision) -> int:
        conv = decision.conversation
        if conv != before:
            await self.save(conv)
        await self.count_all(decision.counters)
        await self.contact(conv, contact_change(decision.counters, decision.commands, self.now))
        for survey in decision.surveys:
            if survey.score is None:
                await self.conn.execute(
                    "UPDATE survey SET comment = $1 WHERE id ="
                    " (SELECT MAX(id) FROM survey WHERE conversation_id = $2)",
                    survey.comment, conv.id,
                )  # fmt: skip
                continue
            await self.conn.execute(
                "INSERT INTO survey (conversation_id, department, score, comment, answered_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                conv.id, survey.department, survey.score, survey.comment, self.now,
            )  # fmt: skip
        if decision.release_held:
            await self.release_held(conv.id)
        return await self.enqueue(conv, decision.commands)

    async def contact(self, conv: Conversation, change: ContactChange | None) -> None:
        if change is None:
            return
        columns = contact_columns(change)
        if change.start:
            # A new contact takes the change's values as it is inserted, in one statement:
            # the same as inserting it and then updating it, for all of a new row's columns
            # are unset ('' or NULL), so a "once" value is taken as an "always" one is.
            names = "".join(f", {c}" for c, _, _ in columns)
            marks = "".join(f", ${n}" for n in range(4, len(columns) + 4))
            await self.conn.execute(
                f"INSERT INTO contact (conversation_id, phone_number_id, started_at{names})"
                f" VALUES ($1, $2, $3{marks})",
                conv.id, conv.key.phone_number_id, self.now, *(v for _, v, _ in columns),
            )  # fmt: skip
            return
        if columns:
            sql, values = contact_update(columns)
            await self.conn.execute(numbered(sql), *values, conv.id)

    # --- small records ------------------------------------------------------------------

    async def mark_seen(self, source: str, external_id: str) -> bool:
        """Record a delivery; False when it was seen before. A replica inserting the same
        id at the same moment waits on the unique index, then sees the conflict."""
        inserted = await self.conn.fetchval(
            "INSERT INTO seen_event (source, external_id, seen_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            source, external_id, self.now,
        )  # fmt: skip
        return inserted is not None

    async def count(self, name: str, label: str = "", by: int = 1) -> None:
        await self._add({(name, label): by})

    async def count_all(self, counters: Iterable[tuple[str, str]]) -> None:
        """Each (name, label) once per occurrence, in one statement: repeats are summed
        here first, for one INSERT ... ON CONFLICT DO UPDATE cannot update a row twice."""
        await self._add(Counter(counters))

    async def _add(self, totals: Mapping[tuple[str, str], int]) -> None:
        if not totals:
            return
        # Sorted: two transactions whose connections share a slot take its rows' locks in
        # the same order (opposite orders would deadlock).
        keys = sorted(totals)
        await self.conn.execute(
            "INSERT INTO counter_slot (day, name, label, value, slot)"
            " SELECT $1, n, l, v, pg_backend_pid() % 16"
            " FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(n, l, v)"
            " ON CONFLICT (day, name, label, slot)"
            " DO UPDATE SET value = counter_slot.value + excluded.value",
            day_of(self.now), [name for name, _ in keys], [label for _, label in keys],
            [totals[key] for key in keys],
        )  # fmt: skip

    async def link(self, link: Link, conv_id: int) -> None:
        await self.conn.execute(
            "INSERT INTO message_link (whatsapp_id, rocketchat_id, conversation_id, direction,"
            " created_at, excerpt) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            link.whatsapp_id, link.rocketchat_id, conv_id, link.direction, self.now,
            link.excerpt[:EXCERPT],
        )  # fmt: skip

    async def reject(self, source: str, reason: str, body: bytes) -> None:
        await self.conn.execute(
            "INSERT INTO rejected_payload (source, reason, body, received_at)"
            " VALUES ($1, $2, $3, $4)",
            source, reason, body, self.now,
        )  # fmt: skip
        await self.count("rejected_payload", source)

    # --- the outbox's lanes -------------------------------------------------------------

    async def enqueue(self, conv: Conversation, commands: Iterable[Command]) -> int:
        """One statement per command (not one for all: two commands to one lane would have
        its upsert touch the lane's row twice); the last also NOTIFYs, once per
        transaction, with our origin (store.watch). A lane a command starts is leased to
        `hand_off_to`, if any, and its head collected in `claims`."""
        queued = list(commands)
        lease, until = self.hand_off_to or (None, None)
        for n, command in enumerate(queued, start=1):
            args = (conv.id, command.destination.value, command_to_json(command), self.now)
            if n < len(queued):
                laned = await self.conn.fetchrow(ENQUEUE, *args, lease, until)
            else:
                laned = await self.conn.fetchrow(ENQUEUE_AND_NOTIFY, *args, lease, until,
                                                 self.origin)  # fmt: skip
            if laned is None or lease is None:
                continue
            if laned["head_id"] == laned["id"] and laned["lease"] == lease:
                self.claims.append(queued_claim(laned["id"], conv, command, self.now, lease))
        return len(queued)

    async def claim(self, lease: str, limit: int, until: float) -> tuple[list[Claim], int]:
        claims: list[Claim] = []
        set_aside = 0
        for _ in range(10):  # bounded: each round sets aside at least one row, or ends
            rows = await self.conn.fetch(
                f"{OUTBOX_HEAD} JOIN lane AS l ON l.head_id = o.id"
                " WHERE l.due_at <= $1 AND (l.lease IS NULL OR l.lease_until <= $1)"
                " ORDER BY l.head_id LIMIT $2 FOR UPDATE OF l SKIP LOCKED",
                self.now, limit - len(claims),
            )  # fmt: skip
            bad = 0
            for row in rows:
                found = await self._claim(row, lease, until)
                if found is None:
                    bad += 1
                else:
                    claims.append(found)
            set_aside += bad
            if not bad or len(claims) >= limit:
                break
        return claims, set_aside

    async def _claim(self, row: Any, lease: str, until: float) -> Claim | None:
        try:
            found = Claim(outbox_row(row), conversation(row), lease)
        except UnreadableRow as exc:
            await self._set_aside(row, str(exc))
            return None
        await self.conn.execute(
            "UPDATE lane SET lease = $1, lease_until = $2"
            " WHERE conversation_id = $3 AND destination = $4",
            lease, until, row["id"], row["destination"],
        )  # fmt: skip
        return found

    async def _set_aside(self, row: Any, reason: str) -> None:
        log.error("outbox.unreadable", row=row["row_id"], reason=reason)
        await self.conn.execute(
            "UPDATE outbox SET state = 'dead', last_error = $1 WHERE id = $2",
            f"unreadable: {reason}"[:500], row["row_id"],
        )  # fmt: skip
        await self.count("dead_letter", str(row["destination"]))
        await self._advance(row["id"], str(row["destination"]))

    async def next_due_at(self) -> float | None:
        found = await self.conn.fetchval(
            "SELECT MIN(due_at) FROM lane WHERE due_at > $1"
            " AND (lease IS NULL OR lease_until <= $1)",
            self.now,
        )
        return float(found) if found is not None else None

    async def settle(self, s: Settlement, next_lease: str) -> Settled:
        row = s.claim.row
        lane = (row.conversation_id, row.destination.value)
        # Locks are always taken conversation first, then lane (as an event does, which
        # may enqueue into or release this lane): the other order deadlocks.
        await self.conn.execute(
            "SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE", row.conversation_id
        )
        held = await self.conn.fetchval(
            "SELECT 1 FROM lane WHERE conversation_id = $1 AND destination = $2"
            " AND lease = $3 AND head_id = $4 FOR UPDATE",
            *lane, s.claim.lease, row.id,
        )  # fmt: skip
        if held is None:
            return Settled(held=False)
        await self._change(row.id, s.change)
        for link in s.links:
            await self.link(link, row.conversation_id)
        await self.count_all(s.counters)
        if s.step is not None and (conv := await self.find(ById(row.conversation_id))):
            await self.write(conv, s.step(conv, await self.pending(row.conversation_id)))
        if isinstance(s.change, Reschedule):
            # The head again (see the SQLite backend): rows released meanwhile may be older.
            await self._advance(*lane)
            return Settled(held=True)
        lease = (next_lease, self.now + s.then_lease) if s.then_lease is not None else None
        head = await self._advance(*lane, lease=lease)
        if head is None or lease is None:
            return Settled(held=True)
        return Settled(True, await self._handed_on(head, lease[0]))

    async def _change(self, row_id: int, change: Finish | Reschedule | Bury | Hold) -> None:
        match change:
            case Finish():
                await self.conn.execute("DELETE FROM outbox WHERE id = $1", row_id)
            case Reschedule():
                command = command_to_json(change.command) if change.command else None
                await self.conn.execute(
                    "UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3,"
                    " command = COALESCE($4, command) WHERE id = $5",
                    change.attempts, self.now + change.delay, change.error, command, row_id,
                )  # fmt: skip
            case Bury():
                await self.conn.execute(
                    "UPDATE outbox SET state = 'dead', attempts = $1, last_error = $2"
                    " WHERE id = $3",
                    change.attempts, change.error, row_id,
                )  # fmt: skip
            case Hold():
                await self.conn.execute("UPDATE outbox SET state = 'held' WHERE id = $1", row_id)

    async def release_held(self, conv_id: int) -> None:
        await self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1"
            " WHERE conversation_id = $2 AND state = 'held'",
            self.now, conv_id,
        )  # fmt: skip
        await self.conn.execute(
            "INSERT INTO lane (conversation_id, destination, head_id, due_at)"
            " SELECT conversation_id, destination, MIN(id), $1 FROM outbox"
            " WHERE conversation_id = $2 AND state = 'pending'"
            " GROUP BY conversation_id, destination"
            " ON CONFLICT (conversation_id, destination) DO UPDATE SET"
            " head_id = excluded.head_id, due_at = excluded.due_at WHERE lane.lease IS NULL",
            self.now, conv_id,
        )  # fmt: skip

    async def _advance(
        self, conv_id: int, destination: str, lease: tuple[str, float] | None = None
    ) -> Any:
        head = await self.conn.fetchrow(
            f"{OUTBOX_HEAD} WHERE o.state = 'pending' AND o.conversation_id = $1"
            " AND o.destination = $2 ORDER BY o.id LIMIT 1",
            conv_id, destination,
        )  # fmt: skip
        if head is None:
            await self.conn.execute(
                "DELETE FROM lane WHERE conversation_id = $1 AND destination = $2",
                conv_id, destination,
            )  # fmt: skip
            return None
        due = head["next_attempt_at"] <= self.now
        token, until = lease if lease is not None and due else (None, None)
        await self.conn.execute(
            "UPDATE lane SET head_id = $1, due_at = $2, lease = $3, lease_until = $4"
            " WHERE conversation_id = $5 AND destination = $6",
            head["row_id"], head["next_attempt_at"], token, until, conv_id, destination,
        )  # fmt: skip
        return head if token is not None else None

    async def _handed_on(self, head: Any, lease: str) -> Claim | None:
        try:
            return Claim(outbox_row(head), conversation(head), lease)
        except UnreadableRow as exc:
            await self._set_aside(head, str(exc))
            return None

    async def pending(self, conv_id: int) -> Pending:
        found = await self.conn.fetchval(
            "SELECT 1 FROM outbox WHERE conversation_id = $1 AND state = 'pending'"
            " AND destination = 'rocketchat' AND command::jsonb ->> 'kind' = 'OpenRoom' LIMIT 1",
            conv_id,
        )
        return Pending(room_request=found is not None)

    async def release(self, claims: Iterable[Claim]) -> None:
        await self.conn.executemany(
            "UPDATE lane SET lease = NULL, lease_until = NULL"
            " WHERE conversation_id = $1 AND destination = $2 AND lease = $3",
            [(c.row.conversation_id, c.row.destination.value, c.lease) for c in claims],
        )
