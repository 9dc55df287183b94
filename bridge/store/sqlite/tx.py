"""The SQL of one unit (transaction) of the SQLite backend: conversations and records; the
outbox's statements are in lanes.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from bridge.core.contacts import ContactChange, contact_change
from bridge.core.decide import Decision
from bridge.core.model import Conversation, ConversationKey
from bridge.core.storage import Claim, Find, Link
from bridge.store.rows import (
    CONVERSATION_COLUMNS,
    EXCERPT,
    contact_columns,
    contact_update,
    conversation,
    day_of,
    find_where,
)
from bridge.store.sqlite import lanes


class Tx:
    """One unit's view of the open transaction. `now` is read once per unit. With
    `hand_off_to` (lease token, lease end), the head row of each lane the unit starts is
    leased to it and collected in `claims` (bridge.core.storage.HandOff)."""

    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self.conn = conn
        self.now = now
        self.hand_off_to: tuple[str, float] | None = None
        self.claims: list[Claim] = []

    def _one(self, sql: str, args: Iterable[object] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, tuple(args)).fetchone()
        return row

    # --- conversations ------------------------------------------------------------------

    def find(self, find: Find) -> Conversation | None:
        where, args = find_where(find)
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
            " visitor_token = ?, room_id = ?, bot_state = ?, last_citizen_at = ?,"
            " held_since = ?, last_wamid = ?, updated_at = ? WHERE id = ?",
            (
                conv.profile_name,
                conv.state.value,
                conv.department,
                conv.visitor_token,
                conv.room_id,
                conv.bot_state,
                conv.last_citizen_at,
                conv.held_since,
                conv.last_wamid,
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
        self.contact(conv, contact_change(decision.counters, decision.commands, self.now))
        for survey in decision.surveys:
            if survey.score is None:
                self.conn.execute(
                    "UPDATE survey SET comment = ? WHERE id ="
                    " (SELECT MAX(id) FROM survey WHERE conversation_id = ?)",
                    (survey.comment, conv.id),
                )
                continue
            self.conn.execute(
                "INSERT INTO survey (conversation_id, department, score, comment, answered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (conv.id, survey.department, survey.score, survey.comment, self.now),
            )
        if decision.release_held:
            lanes.release_held(self, conv.id)
        return lanes.enqueue(self, conv, decision.commands)

    def contact(self, conv: Conversation, change: ContactChange | None) -> None:
        """The conversation's contact record (bridge.core.contacts)."""
        if change is None:
            return
        if change.start:
            self.conn.execute(
                "INSERT INTO contact (conversation_id, phone_number_id, started_at)"
                " VALUES (?, ?, ?)",
                (conv.id, conv.key.phone_number_id, self.now),
            )
        columns = contact_columns(change)
        if columns:
            sql, values = contact_update(columns)
            self.conn.execute(sql, (*values, conv.id))

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

    def link(self, link: Link, conv_id: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO message_link"
            " (whatsapp_id, rocketchat_id, conversation_id, direction, created_at, excerpt)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                link.whatsapp_id,
                link.rocketchat_id,
                conv_id,
                link.direction,
                self.now,
                link.excerpt[:EXCERPT],
            ),
        )

    def reject(self, source: str, reason: str, body: bytes) -> None:
        self.conn.execute(
            "INSERT INTO rejected_payload (source, reason, body, received_at) VALUES (?, ?, ?, ?)",
            (source, reason, body, self.now),
        )
        self.count("rejected_payload", source)
