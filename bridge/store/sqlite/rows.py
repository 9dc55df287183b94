"""Decoding stored rows into core types; a row this code cannot read raises UnreadableRow."""

from __future__ import annotations

import sqlite3

from bridge.core.model import (
    Conversation,
    ConversationKey,
    RoomId,
    State,
    VisitorToken,
    WaId,
)
from bridge.core.storage import UnreadableRow

CONVERSATION_COLUMNS = (
    "id, phone_number_id, wa_id, profile_name, state, department, visitor_token, room_id,"
    " bot_state, last_citizen_at, held_since, last_wamid"
)
PREFIXED_COLUMNS = ", ".join(f"c.{name.strip()}" for name in CONVERSATION_COLUMNS.split(","))


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
            held_since=row["held_since"],
            last_wamid=row["last_wamid"],
        )
    except (ValueError, TypeError) as exc:
        raise UnreadableRow(f"conversation {row['id']}: {exc}") from exc
