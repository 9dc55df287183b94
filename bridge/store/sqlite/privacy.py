"""The SQL of the LGPD duties (bridge.core.privacy) for SQLite: export, erase, purge and
the append-only audit. Each function runs inside one unit (transaction) of the writer,
except `export`, which only reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from bridge.core.privacy import (
    AuditEntry,
    Visitor,
    quoted_forms,
    shown_token,
    subject_of,
    wamid_of,
    wamid_prefix,
)

# Message ids of WhatsApp (the citizen's, and our sends' `failed` statuses) embed the phone;
# Rocket.Chat's event ids do not.
WHATSAPP_SOURCES = ("whatsapp", "status")
PURGE_BATCH = 2000  # rows per table per unit: the writer's thread is never held for long


def export(conn: sqlite3.Connection, wa_ids: Sequence[str]) -> dict[str, Any]:
    conversations = _rows(conn, f"SELECT * FROM conversation WHERE wa_id IN ({_marks(wa_ids)})",
                          wa_ids)  # fmt: skip
    ids = [c["id"] for c in conversations]
    for conv in conversations:
        # The visitor token is a bearer key to the citizen's Rocket.Chat history: its
        # existence is data about them, its value is not for an export file.
        conv["visitor_token"] = shown_token(conv["visitor_token"])
        conv["bot_state"] = _json(conv["bot_state"])
    marks = _marks(ids)
    return {
        "wa_ids": list(wa_ids),
        "conversations": conversations,
        "outbox": [
            {**row, "command": _json(row["command"])}
            for row in _rows(conn, f"SELECT * FROM outbox WHERE conversation_id IN ({marks})", ids)
        ],
        "message_links": _rows(
            conn, f"SELECT * FROM message_link WHERE conversation_id IN ({marks})", ids
        ),
        "surveys": _rows(conn, f"SELECT * FROM survey WHERE conversation_id IN ({marks})", ids),
        "contacts": _rows(conn, f"SELECT * FROM contact WHERE conversation_id IN ({marks})", ids),
        "seen_message_ids": [r["external_id"] for r in _seen(conn, wa_ids)],
        "rejected_payloads": [
            {**row, "body": bytes(row["body"]).decode("utf-8", "replace")}
            for row in _rejected(conn, wa_ids)
        ],
    }


def visitors(conn: sqlite3.Connection, wa_ids: Sequence[str]) -> list[Visitor]:
    rows = conn.execute(
        "SELECT phone_number_id, wa_id, visitor_token, room_id FROM conversation"
        f" WHERE wa_id IN ({_marks(wa_ids)}) AND visitor_token IS NOT NULL",
        tuple(wa_ids),
    ).fetchall()
    return [Visitor(r[0], r[1], r[2], r[3]) for r in rows]


def forget(conn: sqlite3.Connection, wa_ids: Sequence[str]) -> dict[str, int]:
    """Everything of these ids, in the caller's transaction. Outbox rows, lanes, links
    and surveys go with their conversation (ON DELETE CASCADE)."""
    marks = _marks(wa_ids)
    ids = [r[0] for r in conn.execute(f"SELECT id FROM conversation WHERE wa_id IN ({marks})",
                                      tuple(wa_ids))]  # fmt: skip
    erased = {
        "outbox": _count(conn, "outbox", ids),
        "message_link": _count(conn, "message_link", ids),
        "survey": _count(conn, "survey", ids),
        # Contact records stay for the statistics, no longer linked to anyone (SET NULL).
        "contact_unlinked": _count(conn, "contact", ids),
    }
    erased["conversation"] = conn.execute(
        f"DELETE FROM conversation WHERE wa_id IN ({marks})", tuple(wa_ids)
    ).rowcount
    seen = [(r["source"], r["external_id"]) for r in _seen(conn, wa_ids)]
    conn.executemany("DELETE FROM seen_event WHERE source = ? AND external_id = ?", seen)
    erased["seen_event"] = len(seen)
    rejected = [(r["id"],) for r in _rejected(conn, wa_ids)]
    conn.executemany("DELETE FROM rejected_payload WHERE id = ?", rejected)
    erased["rejected_payload"] = len(rejected)
    return erased


def purge_batch(conn: sqlite3.Connection, before: float) -> dict[str, int]:
    """One batch of everything older than `before`; call again while anything was purged.
    A conversation goes only when idle: no room open and nothing left to deliver."""
    statements = {
        # Both tables are WITHOUT ROWID: their primary keys pick the batch.
        "seen_event": "DELETE FROM seen_event WHERE (source, external_id) IN (SELECT source,"
        " external_id FROM seen_event WHERE seen_at < ? LIMIT ?)",
        "message_link": "DELETE FROM message_link WHERE (whatsapp_id, rocketchat_id) IN"
        " (SELECT whatsapp_id, rocketchat_id FROM message_link WHERE created_at < ? LIMIT ?)",
        "rejected_payload": "DELETE FROM rejected_payload WHERE id IN (SELECT id FROM"
        " rejected_payload WHERE received_at < ? LIMIT ?)",
        "dead_letter": "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        " WHERE state = 'dead' AND created_at < ? LIMIT ?)",
        "conversation": "DELETE FROM conversation WHERE id IN (SELECT c.id FROM conversation c"
        " WHERE c.room_id IS NULL AND c.updated_at < ? AND NOT EXISTS (SELECT 1 FROM outbox o"
        " WHERE o.conversation_id = c.id AND o.state != 'dead') LIMIT ?)",
    }
    return {kind: conn.execute(sql, (before, PURGE_BATCH)).rowcount
            for kind, sql in statements.items()}  # fmt: skip


def audit(conn: sqlite3.Connection, entry: AuditEntry, wa_id: str | None) -> None:
    subject = subject_of(_audit_key(conn), wa_id) if wa_id else entry.subject
    conn.execute(
        "INSERT INTO audit (at, operator, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (entry.at, entry.operator, entry.action, subject, entry.detail),
    )


def audit_log(conn: sqlite3.Connection, limit: int) -> list[AuditEntry]:
    rows = conn.execute(
        "SELECT at, operator, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4]) for r in reversed(rows)]


def _audit_key(conn: sqlite3.Connection) -> bytes:
    row = conn.execute("SELECT value FROM secret WHERE name = 'audit_key'").fetchone()
    return bytes(row[0])


def _seen(conn: sqlite3.Connection, wa_ids: Sequence[str]) -> list[sqlite3.Row]:
    found: list[sqlite3.Row] = []
    for wa_id in wa_ids:
        prefix = wamid_prefix(wa_id)
        for source in WHATSAPP_SOURCES:
            # A range on the primary key (source, external_id): no scan of the table.
            rows = conn.execute(
                "SELECT source, external_id FROM seen_event WHERE source = ?"
                " AND external_id >= ? AND external_id < ?",
                (source, prefix, prefix + "\U0010ffff"),
            ).fetchall()
            found += [r for r in rows if wamid_of(r["external_id"], wa_id)]
    return found


def _rejected(conn: sqlite3.Connection, wa_ids: Sequence[str]) -> list[sqlite3.Row]:
    """Rejected bodies holding one of the ids as a JSON string (Meta's "from", "wa_id",
    Rocket.Chat's visitor "phoneNumber"): a scan, for a rare command."""
    needles = [form for wa_id in wa_ids for form in quoted_forms(wa_id)]
    where = " OR ".join("instr(body, ?) > 0" for _ in needles)
    return conn.execute(
        f"SELECT id, source, reason, body, received_at FROM rejected_payload WHERE {where}",
        tuple(needles),
    ).fetchall()


def _count(conn: sqlite3.Connection, table: str, ids: Sequence[int]) -> int:
    sql = f"SELECT COUNT(*) FROM {table} WHERE conversation_id IN ({_marks(ids)})"
    return int(conn.execute(sql, tuple(ids)).fetchone()[0])


def _rows(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, tuple(args)).fetchall()]


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
