"""The outbox's SQL: rows queued per lane (conversation, destination), claimed by their lane's
head under a lease, settled, and handed on (migration 0003 describes the `lane` table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog

from bridge.core.model import Command, Conversation, command_to_json
from bridge.core.storage import (
    Bury,
    ById,
    Claim,
    Finish,
    Hold,
    Pending,
    Reschedule,
    Settled,
    Settlement,
    UnreadableRow,
)
from bridge.store.rows import OUTBOX_HEAD, conversation, outbox_row, queued_claim

if TYPE_CHECKING:
    from bridge.store.sqlite.tx import Tx

log = structlog.get_logger("bridge.store.sqlite")


def enqueue(tx: Tx, conv: Conversation, commands: Iterable[Command]) -> int:
    lease, until = tx.hand_off_to or (None, None)
    count = 0
    for command in commands:
        cursor = tx.conn.execute(
            "INSERT INTO outbox (conversation_id, destination, command, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, ?, ?)",
            (conv.id, command.destination.value, command_to_json(command), tx.now, tx.now),
        )
        row_id = cursor.lastrowid
        assert row_id is not None
        # The first row of an idle lane becomes its head (leased at once to a hand-off);
        # a busy lane keeps its own.
        started = tx.conn.execute(
            "INSERT INTO lane (conversation_id, destination, head_id, due_at, lease,"
            " lease_until) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (conv.id, command.destination.value, row_id, tx.now, lease, until),
        )
        if lease is not None and started.rowcount == 1:
            tx.claims.append(queued_claim(row_id, conv, command, tx.now, lease))
        count += 1
    return count


def claim(tx: Tx, lease: str, limit: int, until: float) -> tuple[list[Claim], int]:
    """Lease the head of up to `limit` due, free lanes, oldest first; an unreadable head is
    set aside as a dead letter (it would block its lane for good) and its lane looked at
    again at once. (claims, set aside)."""
    claims: list[Claim] = []
    set_aside = 0
    for _ in range(10):  # bounded: each round sets aside at least one row, or ends
        rows = tx.conn.execute(
            f"{OUTBOX_HEAD} JOIN lane AS l ON l.head_id = o.id"
            " WHERE l.due_at <= ? AND (l.lease IS NULL OR l.lease_until <= ?)"
            " ORDER BY l.head_id LIMIT ?",
            (tx.now, tx.now, limit - len(claims)),
        ).fetchall()
        bad = 0
        for row in rows:
            found = _claim(tx, row, lease, until)
            if found is None:
                bad += 1
            else:
                claims.append(found)
        set_aside += bad
        if not bad or len(claims) >= limit:
            break
    return claims, set_aside


def _claim(tx: Tx, row: sqlite3.Row, lease: str, until: float) -> Claim | None:
    try:
        found = Claim(outbox_row(row), conversation(row), lease)
    except UnreadableRow as exc:
        _set_aside(tx, row, str(exc))
        return None
    tx.conn.execute(
        "UPDATE lane SET lease = ?, lease_until = ? WHERE conversation_id = ? AND destination = ?",
        (lease, until, row["id"], row["destination"]),
    )
    return found


def _set_aside(tx: Tx, row: sqlite3.Row, reason: str) -> None:
    log.error("outbox.unreadable", row=row["row_id"], reason=reason)
    tx.conn.execute(
        "UPDATE outbox SET state = 'dead', last_error = ? WHERE id = ?",
        (f"unreadable: {reason}"[:500], row["row_id"]),
    )
    tx.count("dead_letter", str(row["destination"]))
    _advance(tx, row["id"], str(row["destination"]))


def next_due_at(tx: Tx) -> float | None:
    """When the next free lane that is not due yet will be."""
    row = tx.conn.execute(
        "SELECT MIN(due_at) FROM lane WHERE due_at > ? AND (lease IS NULL OR lease_until <= ?)",
        (tx.now, tx.now),
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


# The settling delivery still holds the lane: its lease, on its row.
_HELD = (
    "EXISTS (SELECT 1 FROM lane WHERE conversation_id = ? AND destination = ? AND lease = ?"
    " AND head_id = ?)"
)


def settle(tx: Tx, s: Settlement, next_lease: str) -> Settled:
    row = s.claim.row
    lane = (row.conversation_id, row.destination.value)
    if not _change_if_held(tx, s, lane):
        return Settled(held=False)
    for link in s.links:
        tx.link(link, row.conversation_id)
    for name, label in s.counters:
        tx.count(name, label)
    if s.step is not None and (conv := tx.find(ById(row.conversation_id))) is not None:
        tx.write(conv, s.step(conv, pending(tx, row.conversation_id)))
    if isinstance(s.change, Reschedule):
        # The head again, not merely a later due time: rows released meanwhile
        # (release_held leaves a leased lane alone) may be older than this one.
        _advance(tx, *lane)
        return Settled(held=True)
    lease = (next_lease, tx.now + s.then_lease) if s.then_lease is not None else None
    head = _advance(tx, *lane, lease=lease)
    if head is None or lease is None:
        return Settled(held=True)
    return Settled(True, _handed_on(tx, head, lease[0]))


def _change_if_held(tx: Tx, s: Settlement, lane: tuple[int, str]) -> bool:
    """Write the row's change if the lease is still ours; False (nothing written) if not.
    A row that is done goes in the statement that checks the lease (most settlements: one
    statement instead of two; nine a relayed message instead of ten)."""
    row_id = s.claim.row.id
    held = (*lane, s.claim.lease, row_id)
    if isinstance(s.change, Finish):
        gone = tx.conn.execute(f"DELETE FROM outbox WHERE id = ? AND {_HELD}", (row_id, *held))
        return gone.rowcount == 1
    if not tx.conn.execute(f"SELECT {_HELD}", held).fetchone()[0]:
        return False
    _change(tx, row_id, s.change)
    return True


def _change(tx: Tx, row_id: int, change: Reschedule | Bury | Hold) -> None:
    match change:
        case Reschedule():
            command = command_to_json(change.command) if change.command else None
            tx.conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?,"
                " command = COALESCE(?, command) WHERE id = ?",
                (change.attempts, tx.now + change.delay, change.error, command, row_id),
            )
        case Bury():
            tx.conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ? WHERE id = ?",
                (change.attempts, change.error, row_id),
            )
        case Hold():
            tx.conn.execute("UPDATE outbox SET state = 'held' WHERE id = ?", (row_id,))


def release_held(tx: Tx, conv_id: int) -> None:
    """Held rows are due again, in their order: each lane's head becomes its oldest pending
    row. A lane a delivery holds keeps its lease; the head is corrected when it settles."""
    tx.conn.execute(
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?"
        " WHERE conversation_id = ? AND state = 'held'",
        (tx.now, conv_id),
    )
    tx.conn.execute(
        "INSERT INTO lane (conversation_id, destination, head_id, due_at)"
        " SELECT conversation_id, destination, MIN(id), ? FROM outbox"
        " WHERE conversation_id = ? AND state = 'pending' GROUP BY conversation_id, destination"
        " ON CONFLICT (conversation_id, destination) DO UPDATE SET"
        " head_id = excluded.head_id, due_at = excluded.due_at WHERE lane.lease IS NULL",
        (tx.now, conv_id),
    )


def _advance(
    tx: Tx, conv_id: int, destination: str, lease: tuple[str, float] | None = None
) -> sqlite3.Row | None:
    """The lane's head left it: point the lane at its next pending row (leased at once to
    `lease` when that row is due), or drop the lane."""
    head: sqlite3.Row | None = tx.conn.execute(
        f"{OUTBOX_HEAD} WHERE o.state = 'pending' AND o.conversation_id = ? AND o.destination = ?"
        " ORDER BY o.id LIMIT 1",
        (conv_id, destination),
    ).fetchone()
    if head is None:
        tx.conn.execute(
            "DELETE FROM lane WHERE conversation_id = ? AND destination = ?",
            (conv_id, destination),
        )
        return None
    due = head["next_attempt_at"] <= tx.now
    token, until = lease if lease is not None and due else (None, None)
    tx.conn.execute(
        "UPDATE lane SET head_id = ?, due_at = ?, lease = ?, lease_until = ?"
        " WHERE conversation_id = ? AND destination = ?",
        (head["row_id"], head["next_attempt_at"], token, until, conv_id, destination),
    )
    return head if token is not None else None


def _handed_on(tx: Tx, head: sqlite3.Row, lease: str) -> Claim | None:
    """The lane's new head, already leased by _advance, as a claim."""
    try:
        return Claim(outbox_row(head), conversation(head), lease)
    except UnreadableRow as exc:
        _set_aside(tx, head, str(exc))  # the lane goes back to the queue, free
        return None


def pending(tx: Tx, conv_id: int) -> Pending:
    row = tx.conn.execute(
        "SELECT 1 FROM outbox WHERE conversation_id = ? AND state = 'pending'"
        " AND destination = 'rocketchat' AND json_extract(command, '$.kind') = 'OpenRoom'"
        " LIMIT 1",
        (conv_id,),
    ).fetchone()
    return Pending(room_request=row is not None)


def release(tx: Tx, claims: Iterable[Claim]) -> None:
    tx.conn.executemany(
        "UPDATE lane SET lease = NULL, lease_until = NULL"
        " WHERE conversation_id = ? AND destination = ? AND lease = ?",
        [(c.row.conversation_id, c.row.destination.value, c.lease) for c in claims],
    )


def clear_leases(conn: sqlite3.Connection) -> None:
    """One process owns a SQLite file: leases still set were left by one that died."""
    conn.execute("UPDATE lane SET lease = NULL, lease_until = NULL WHERE lease IS NOT NULL")
