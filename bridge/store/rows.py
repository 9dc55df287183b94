"""What every backend shares: decoding stored rows into core types (sqlite3.Row and
asyncpg's Record are both read by column name; a row this code cannot read raises
UnreadableRow), and the SQL fragments both write with `?` placeholders (the PostgreSQL
backend numbers them, postgres/tx.py `numbered`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from bridge.core.contacts import COLUMNS, ContactChange, Value
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
)
from bridge.core.storage import (
    ById,
    ByKey,
    ByOutbound,
    ByRoom,
    Claim,
    Find,
    OutboxRow,
    UnreadableRow,
)

EXCERPT = 80  # characters of a message kept with its link
CONTACT_TEXT_COLUMNS = frozenset({"topic", "department", "priority"})  # NOT NULL DEFAULT ''
ContactColumn = tuple[str, Value, bool]  # column, value, set only while still unset


def day_of(now: float) -> str:
    """The day a counter counts in (UTC)."""
    return datetime.fromtimestamp(now, UTC).date().isoformat()


def find_where(find: Find) -> tuple[str, tuple[object, ...]]:
    """The WHERE clause (with `?` placeholders) and its arguments for a conversation."""
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


def contact_columns(change: ContactChange) -> list[ContactColumn]:
    """What a contact change writes; column names only from the core's fixed set, never
    from input."""
    columns = [(c, v, False) for c, v in change.always] + [(c, v, True) for c, v in change.once]
    return [item for item in columns if item[0] in COLUMNS]


def contact_update(columns: list[ContactColumn]) -> tuple[str, list[Value]]:
    """The UPDATE of a conversation's latest contact and its values (the conversation id
    goes last). A set-once column is set while NULL, or '' for a text column."""
    assignments = ", ".join(
        f"{c} = COALESCE({_unset_as_null(c)}, ?)" if once else f"{c} = ?" for c, _, once in columns
    )
    sql = (
        f"UPDATE contact SET {assignments} WHERE id = (SELECT MAX(id) FROM contact"
        " WHERE conversation_id = ?)"
    )
    return sql, [v for _, v, _ in columns]


def _unset_as_null(column: str) -> str:
    return f"NULLIF({column}, '')" if column in CONTACT_TEXT_COLUMNS else column


class Row(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


CONVERSATION_COLUMNS = (
    "id, phone_number_id, wa_id, profile_name, state, department, visitor_token, room_id,"
    " bot_state, last_citizen_at, held_since, last_wamid"
)
PREFIXED_COLUMNS = ", ".join(f"c.{name.strip()}" for name in CONVERSATION_COLUMNS.split(","))
# An outbox row with its conversation, as outbox_row() and conversation() read them.
OUTBOX_HEAD = (
    "SELECT o.id AS row_id, o.destination, o.command, o.attempts, o.created_at,"
    f" o.next_attempt_at, {PREFIXED_COLUMNS} FROM outbox AS o JOIN conversation AS c"
    " ON c.id = o.conversation_id"
)


def conversation(row: Row) -> Conversation:
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


def outbox_row(row: Row) -> OutboxRow:
    """An outbox row selected with the outbox columns as row_id, destination, command,
    attempts, created_at and its conversation's `id`."""
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


def queued_claim(
    row_id: int, conv: Conversation, command: Command, now: float, lease: str
) -> Claim:
    """A row just queued and leased by a hand-off, as `outbox_row` would read it back: no
    attempt yet, created in this transaction."""
    return Claim(OutboxRow(row_id, conv.id, command.destination, command, 0, now), conv, lease)


async def in_batches(batch: Callable[[], Awaitable[Mapping[str, int]]]) -> dict[str, int]:
    """Run a purge batch until one erases nothing; the totals per kind."""
    total: dict[str, int] = {}
    while True:
        counts = await batch()
        for kind, count in counts.items():
            total[kind] = total.get(kind, 0) + count
        if not any(counts.values()):
            return total
