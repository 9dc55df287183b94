"""Store: every SQL statement of the bridge, behind typed methods returning core types."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bridge.core.model import (
    Command,
    Conversation,
    ConversationKey,
    Destination,
    RoomId,
    State,
    VisitorToken,
    WaId,
    command_from_json,
    command_to_json,
)
from bridge.store.db import connect

_CONVERSATION_COLUMNS = (
    "id, phone_number_id, wa_id, profile_name, state, department, visitor_token, room_id,"
    " bot_state, last_citizen_at"
)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    conversation_id: int
    destination: Destination
    command: Command
    attempts: int
    created_at: float

    @property
    def lane(self) -> tuple[int, Destination]:
        return (self.conversation_id, self.destination)


def _conversation(row: aiosqlite.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        key=ConversationKey(row["phone_number_id"], WaId(row["wa_id"])),
        profile_name=row["profile_name"],
        state=State(row["state"]),
        department=row["department"],
        visitor_token=VisitorToken(row["visitor_token"]) if row["visitor_token"] else None,
        room_id=RoomId(row["room_id"]) if row["room_id"] else None,
        bot_state=row["bot_state"],
        last_citizen_at=row["last_citizen_at"],
    )


class Tx:
    """One open transaction. Obtain it from `Store.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, now: float) -> None:
        self._conn = conn
        self.now = now

    # One trip to aiosqlite's thread per query (a cursor opened, fetched and closed is three):
    # every trip is taken under the store's single lock, so they set the throughput.
    async def _one(self, sql: str, args: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def _all(self, sql: str, args: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, args))

    async def mark_seen(self, source: str, external_id: str) -> bool:
        """Record a delivery; False when it was seen before (a duplicate)."""
        cursor = await self._conn.execute(
            "INSERT OR IGNORE INTO seen_event (source, external_id, seen_at) VALUES (?, ?, ?)",
            (source, external_id, self.now),
        )
        return cursor.rowcount == 1

    async def conversation(self, key: ConversationKey) -> Conversation | None:
        row = await self._one(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversation"
            " WHERE phone_number_id = ? AND wa_id = ?",
            (key.phone_number_id, key.wa_id),
        )
        return _conversation(row) if row else None

    async def conversation_by_id(self, conversation_id: int) -> Conversation | None:
        row = await self._one(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversation WHERE id = ?", (conversation_id,)
        )
        return _conversation(row) if row else None

    async def conversations_by_ids(self, ids: Iterable[int]) -> dict[int, Conversation]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = await self._all(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversation WHERE id IN ({marks})", wanted
        )
        return {r["id"]: _conversation(r) for r in rows}

    async def conversation_by_room(self, room_id: str) -> Conversation | None:
        row = await self._one(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversation WHERE room_id = ?", (room_id,)
        )
        return _conversation(row) if row else None

    async def conversation_by_outbound(self, wamid: str) -> tuple[Conversation, str] | None:
        """The conversation and Rocket.Chat message behind a WhatsApp message we sent."""
        row = await self._one(
            "SELECT conversation_id, rocketchat_id FROM message_link"
            " WHERE whatsapp_id = ? AND direction = 'out'",
            (wamid,),
        )
        if row is None:
            return None
        conversation = await self.conversation_by_id(row["conversation_id"])
        return (conversation, row["rocketchat_id"]) if conversation else None

    async def create_conversation(self, key: ConversationKey, profile_name: str) -> Conversation:
        cursor = await self._conn.execute(
            "INSERT INTO conversation (phone_number_id, wa_id, profile_name, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (key.phone_number_id, key.wa_id, profile_name, self.now),
        )
        assert cursor.lastrowid is not None
        return Conversation(id=cursor.lastrowid, key=key, profile_name=profile_name)

    async def save(self, conversation: Conversation) -> None:
        await self._conn.execute(
            "UPDATE conversation SET profile_name = ?, state = ?, department = ?,"
            " visitor_token = ?, room_id = ?, bot_state = ?, last_citizen_at = ?, updated_at = ?"
            " WHERE id = ?",
            (
                conversation.profile_name,
                conversation.state.value,
                conversation.department,
                conversation.visitor_token,
                conversation.room_id,
                conversation.bot_state,
                conversation.last_citizen_at,
                self.now,
                conversation.id,
            ),
        )

    async def enqueue(self, conversation_id: int, commands: Iterable[Command]) -> int:
        rows = [
            (conversation_id, c.destination.value, command_to_json(c), self.now, self.now)
            for c in commands
        ]
        await self._conn.executemany(
            "INSERT INTO outbox (conversation_id, destination, command, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return len(rows)

    async def due(self, limit: int, busy: Iterable[tuple[int, Destination]]) -> list[OutboxRow]:
        """The head (oldest pending row) of each lane that is due and not being delivered."""
        skip = set(busy)
        rows = await self._all(
            "SELECT o.id, o.conversation_id, o.destination, o.command, o.attempts, o.created_at"
            " FROM outbox AS o WHERE o.state = 'pending' AND o.next_attempt_at <= ?"
            " AND o.id = (SELECT MIN(id) FROM outbox AS h WHERE h.state = 'pending'"
            "   AND h.conversation_id = o.conversation_id AND h.destination = o.destination)"
            " ORDER BY o.id LIMIT ?",
            (self.now, limit + len(skip)),
        )
        found = [
            OutboxRow(
                id=r["id"],
                conversation_id=r["conversation_id"],
                destination=Destination(r["destination"]),
                command=command_from_json(r["command"]),
                attempts=r["attempts"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
        return [row for row in found if row.lane not in skip][:limit]

    async def room_requested(self, conversation_id: int) -> bool:
        """Whether an OpenRoom for this conversation is still waiting in the outbox."""
        row = await self._one(
            "SELECT 1 FROM outbox WHERE conversation_id = ? AND state = 'pending'"
            " AND destination = 'rocketchat' AND json_extract(command, '$.kind') = 'OpenRoom'"
            " LIMIT 1",
            (conversation_id,),
        )
        return row is not None

    async def next_due_at(self) -> float | None:
        row = await self._one("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
        return row[0] if row else None

    async def finish(self, row_id: int) -> None:
        await self._conn.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    async def reschedule(
        self, row_id: int, *, attempts: int, at: float, error: str, command: Command | None = None
    ) -> None:
        await self._conn.execute(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?,"
            " command = COALESCE(?, command) WHERE id = ?",
            (attempts, at, error, command_to_json(command) if command else None, row_id),
        )

    async def bury(self, row_id: int, attempts: int, error: str) -> None:
        await self._conn.execute(
            "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ? WHERE id = ?",
            (attempts, error, row_id),
        )

    async def link(
        self, whatsapp_id: str, rocketchat_id: str, conversation_id: int, direction: str
    ) -> None:
        await self._conn.execute(
            "INSERT OR IGNORE INTO message_link"
            " (whatsapp_id, rocketchat_id, conversation_id, direction, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (whatsapp_id, rocketchat_id, conversation_id, direction, self.now),
        )

    async def count(self, name: str, label: str = "", by: int = 1) -> None:
        day = datetime.fromtimestamp(self.now, UTC).date().isoformat()
        await self._conn.execute(
            "INSERT INTO counter (day, name, label, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (day, name, label) DO UPDATE SET value = value + excluded.value",
            (day, name, label, by),
        )

    async def record_survey(
        self, conversation_id: int, department: str, score: int, comment: str | None
    ) -> None:
        await self._conn.execute(
            "INSERT INTO survey (conversation_id, department, score, comment, answered_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (conversation_id, department, score, comment, self.now),
        )

    async def surveys(self) -> list[tuple[int, str, int, str | None]]:
        rows = await self._all(
            "SELECT conversation_id, department, score, comment FROM survey ORDER BY id"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def reject(self, source: str, reason: str, body: bytes) -> None:
        await self._conn.execute(
            "INSERT INTO rejected_payload (source, reason, body, received_at) VALUES (?, ?, ?, ?)",
            (source, reason, body, self.now),
        )

    async def with_room(self) -> list[Conversation]:
        rows = await self._all(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversation WHERE room_id IS NOT NULL"
        )
        return [_conversation(r) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {r[0]: r[1] for r in rows}

    async def counters(self) -> list[tuple[str, str, str, int]]:
        rows = await self._all("SELECT day, name, label, value FROM counter ORDER BY day, name")
        return [(r[0], r[1], r[2], r[3]) for r in rows]


class Store:
    """One SQLite connection; transactions are serialised (SQLite has one writer anyway)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        return cls(await connect(path))

    async def close(self) -> None:
        await self._conn.close()

    async def check_writable(self) -> None:
        """Take the write lock and let go, leaving nothing behind (for /readyz)."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn, time.time())
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
