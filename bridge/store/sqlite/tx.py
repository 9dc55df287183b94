"""Every SQL statement of the SQLite backend, run on the writer thread inside one unit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

import structlog

from bridge.core.decide import Decision
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
from bridge.core.storage import (
    Bury,
    ById,
    ByKey,
    ByOutbound,
    ByRoom,
    Claim,
    Find,
    Finish,
    OutboxRow,
    Pending,
    Reschedule,
    Settlement,
    UnreadableRow,
)

log = structlog.get_logger("bridge.store.sqlite")

CONVERSATION_COLUMNS = (
    "id, phone_number_id, wa_id, profile_name, state, department, visitor_token, room_id,"
    " bot_state, last_citizen_at"
)
_C = ", ".join(f"c.{name.strip()}" for name in CONVERSATION_COLUMNS.split(","))


def conversation(row: sqlite3.Row) -> Conversation:
    try:
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
    except (ValueError, TypeError) as exc:
        raise UnreadableRow(f"conversation {row['id']}: {exc}") from exc


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()


class Tx:
    """One unit's view of the open transaction. `now` is read once per unit."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now

    def _one(self, sql: str, args: Iterable[object] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, tuple(args)).fetchone()
        return row

    # --- conversations ------------------------------------------------------------------

    def find(self, find: Find) -> Conversation | None:
        where, args = _where(find)
        row = self._one(f"SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE {where}", args)
        return conversation(row) if row else None

    def create(self, key: ConversationKey, profile_name: str) -> Conversation:
        cursor = self.conn.execute(
            "INSERT INTO conversation (phone_number_id, wa_id, profile_name, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (key.phone_number_id, key.wa_id, profile_name, self.now),
        )
        assert cursor.lastrowid is not None
        return Conversation(id=cursor.lastrowid, key=key, profile_name=profile_name)

    def save(self, conv: Conversation) -> None:
        self.conn.execute(
            "UPDATE conversation SET profile_name = ?, state = ?, department = ?,"
            " visitor_token = ?, room_id = ?, bot_state = ?, last_citizen_at = ?, updated_at = ?"
            " WHERE id = ?",
            (
                conv.profile_name,
                conv.state.value,
                conv.department,
                conv.visitor_token,
                conv.room_id,
                conv.bot_state,
                conv.last_citizen_at,
                self.now,
                conv.id,
            ),
        )

    def write(self, before: Conversation, decision: Decision) -> int:
        """Everything a decision asks for; the number of outbox rows it enqueued."""
        conv = decision.conversation
        if conv != before:
            self.save(conv)
        for name, label in decision.counters:
            self.count(name, label)
        for survey in decision.surveys:
            self.conn.execute(
                "INSERT INTO survey (conversation_id, department, score, comment, answered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (conv.id, survey.department, survey.score, survey.comment, self.now),
            )
        return self.enqueue(conv.id, decision.commands)

    # --- small records ----------------------------------------------------------------

    def mark_seen(self, source: str, external_id: str) -> bool:
        """Record a delivery; False when it was seen before (a duplicate)."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO seen_event (source, external_id, seen_at) VALUES (?, ?, ?)",
            (source, external_id, self.now),
        )
        return cursor.rowcount == 1

    def count(self, name: str, label: str = "", by: int = 1) -> None:
        self.conn.execute(
            "INSERT INTO counter (day, name, label, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (day, name, label) DO UPDATE SET value = value + excluded.value",
            (day_of(self.now), name, label, by),
        )

    def link(self, whatsapp_id: str, rocketchat_id: str, conv_id: int, direction: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO message_link"
            " (whatsapp_id, rocketchat_id, conversation_id, direction, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (whatsapp_id, rocketchat_id, conv_id, direction, self.now),
        )

    def reject(self, source: str, reason: str, body: bytes) -> None:
        self.conn.execute(
            "INSERT INTO rejected_payload (source, reason, body, received_at) VALUES (?, ?, ?, ?)",
            (source, reason, body, self.now),
        )
        self.count("rejected_payload", source)

    # --- the outbox -------------------------------------------------------------------

    def enqueue(self, conv_id: int, commands: Iterable[Command]) -> int:
        rows = [
            (conv_id, c.destination.value, command_to_json(c), self.now, self.now) for c in commands
        ]
        if rows:
            self.conn.executemany(
                "INSERT INTO outbox (conversation_id, destination, command, next_attempt_at,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def claim(self, lease: str, limit: int, until: float) -> tuple[list[Claim], int]:
        """Lease the due head of up to `limit` free lanes; unreadable heads are set aside
        as dead letters (they would block their lane for good), and the rows behind them
        are looked at at once. (claims, set aside)."""
        claims: list[Claim] = []
        set_aside = 0
        for _ in range(10):  # bounded: each round sets aside at least one row or ends
            found, bad = self._claim_round(lease, limit - len(claims), until)
            claims += found
            set_aside += bad
            if not bad or len(claims) >= limit:
                break
        return claims, set_aside

    def _claim_round(self, lease: str, limit: int, until: float) -> tuple[list[Claim], int]:
        rows = self.conn.execute(
            "SELECT o.id AS row_id, o.destination, o.command, o.attempts, o.created_at,"
            f" {_C} FROM outbox AS o JOIN conversation AS c ON c.id = o.conversation_id"
            " WHERE o.state = 'pending' AND o.next_attempt_at <= ?"
            " AND (o.lease IS NULL OR o.lease_until <= ?)"
            " AND o.id = (SELECT MIN(h.id) FROM outbox AS h WHERE h.state = 'pending'"
            "   AND h.conversation_id = o.conversation_id AND h.destination = o.destination)"
            " ORDER BY o.id LIMIT ?",
            (self.now, self.now, limit),
        ).fetchall()
        claims, set_aside = [], 0
        for row in rows:
            try:
                claims.append(Claim(_outbox_row(row), conversation(row), lease))
            except UnreadableRow as exc:
                self.set_aside(row["row_id"], row["destination"], str(exc))
                set_aside += 1
        self.conn.executemany(
            "UPDATE outbox SET lease = ?, lease_until = ? WHERE id = ?",
            [(lease, until, c.row.id) for c in claims],
        )
        return claims, set_aside

    def set_aside(self, row_id: int, destination: str, reason: str) -> None:
        log.error("outbox.unreadable", row=row_id, reason=reason)
        self.conn.execute(
            "UPDATE outbox SET state = 'dead', last_error = ?, lease = NULL WHERE id = ?",
            (f"unreadable: {reason}"[:500], row_id),
        )
        self.count("dead_letter", destination)

    def next_due_at(self) -> float | None:
        """When the next lane head that is not due yet will be (a lane's later rows wait
        for its head, so they do not count)."""
        row = self._one(
            "SELECT o.next_attempt_at FROM outbox AS o WHERE o.state = 'pending'"
            " AND o.next_attempt_at > ? AND (o.lease IS NULL OR o.lease_until <= ?)"
            " AND o.id = (SELECT MIN(h.id) FROM outbox AS h WHERE h.state = 'pending'"
            "   AND h.conversation_id = o.conversation_id AND h.destination = o.destination)"
            " ORDER BY o.next_attempt_at LIMIT 1",
            (self.now, self.now),
        )
        return row[0] if row else None

    def settle(self, s: Settlement) -> bool:
        row_id = s.claim.row.id
        held = self._one("SELECT 1 FROM outbox WHERE id = ? AND lease = ?", (row_id, s.claim.lease))
        if held is None:
            return False
        self._change(row_id, s.change)
        conv_id = s.claim.row.conversation_id
        for link in s.links:
            self.link(link.whatsapp_id, link.rocketchat_id, conv_id, link.direction)
        for name, label in s.counters:
            self.count(name, label)
        if s.step is not None and (conv := self.find(ById(conv_id))) is not None:
            self.write(conv, s.step(conv, self.pending(conv_id)))
        return True

    def _change(self, row_id: int, change: Finish | Reschedule | Bury) -> None:
        match change:
            case Finish():
                self.conn.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            case Reschedule():
                command = command_to_json(change.command) if change.command else None
                self.conn.execute(
                    "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?,"
                    " command = COALESCE(?, command), lease = NULL, lease_until = NULL"
                    " WHERE id = ?",
                    (change.attempts, self.now + change.delay, change.error, command, row_id),
                )
            case Bury():
                self.conn.execute(
                    "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?,"
                    " lease = NULL, lease_until = NULL WHERE id = ?",
                    (change.attempts, change.error, row_id),
                )

    def pending(self, conv_id: int) -> Pending:
        row = self._one(
            "SELECT 1 FROM outbox WHERE conversation_id = ? AND state = 'pending'"
            " AND destination = 'rocketchat' AND json_extract(command, '$.kind') = 'OpenRoom'"
            " LIMIT 1",
            (conv_id,),
        )
        return Pending(room_request=row is not None)

    def release(self, claims: Iterable[Claim]) -> None:
        self.conn.executemany(
            "UPDATE outbox SET lease = NULL, lease_until = NULL WHERE id = ? AND lease = ?",
            [(c.row.id, c.lease) for c in claims],
        )


def _where(find: Find) -> tuple[str, tuple[object, ...]]:
    match find:
        case ByKey(key=key):
            return "phone_number_id = ? AND wa_id = ?", (key.phone_number_id, key.wa_id)
        case ByRoom(room_id=room_id):
            return "room_id = ?", (room_id,)
        case ById(conversation_id=conv_id):
            return "id = ?", (conv_id,)
        case ByOutbound(wamid=wamid):
            return (
                "id = (SELECT conversation_id FROM message_link"
                " WHERE whatsapp_id = ? AND direction = 'out' LIMIT 1)",
                (wamid,),
            )
    raise AssertionError(f"unknown find {find!r}")  # pragma: no cover


def _outbox_row(row: sqlite3.Row) -> OutboxRow:
    try:
        return OutboxRow(
            id=row["row_id"],
            conversation_id=row["id"],
            destination=Destination(row["destination"]),
            command=command_from_json(row["command"]),
            attempts=row["attempts"],
            created_at=row["created_at"],
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UnreadableRow(f"outbox row {row['row_id']}: {type(exc).__name__}: {exc}") from exc
