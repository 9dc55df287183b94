"""The LGPD duties (bridge.core.privacy) on PostgreSQL: the SQLite backend's privacy.py,
in this dialect. Each function runs inside one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bridge.core.privacy import (
    AuditEntry,
    Visitor,
    quoted_forms,
    shown_token,
    subject_of,
    wamid_of,
    wamid_prefix,
)

if TYPE_CHECKING:
    from bridge.store.postgres.tx import Conn

WHATSAPP_SOURCES = ("whatsapp", "status")
PURGE_BATCH = 2000


async def export(conn: Conn, wa_ids: Sequence[str]) -> dict[str, Any]:
    ids_of = list(wa_ids)
    conversations = await _rows(conn, "SELECT * FROM conversation WHERE wa_id = ANY($1)", ids_of)
    ids = [c["id"] for c in conversations]
    for conv in conversations:
        conv["visitor_token"] = shown_token(conv["visitor_token"])
        conv["bot_state"] = _json(conv["bot_state"])
    by_conv = "WHERE conversation_id = ANY($1)"
    return {
        "wa_ids": ids_of,
        "conversations": conversations,
        "outbox": [
            {**row, "command": _json(row["command"])}
            for row in await _rows(conn, f"SELECT * FROM outbox {by_conv}", ids)
        ],
        "message_links": await _rows(conn, f"SELECT * FROM message_link {by_conv}", ids),
        "surveys": await _rows(conn, f"SELECT * FROM survey {by_conv}", ids),
        "contacts": await _rows(conn, f"SELECT * FROM contact {by_conv}", ids),
        "seen_message_ids": [r["external_id"] for r in await _seen(conn, wa_ids)],
        "rejected_payloads": [
            {**dict(row), "body": bytes(row["body"]).decode("utf-8", "replace")}
            for row in await _rejected(conn, wa_ids)
        ],
    }


async def visitors(conn: Conn, wa_ids: Sequence[str]) -> list[Visitor]:
    rows = await conn.fetch(
        "SELECT phone_number_id, wa_id, visitor_token, room_id FROM conversation"
        " WHERE wa_id = ANY($1) AND visitor_token IS NOT NULL",
        list(wa_ids),
    )
    return [Visitor(r[0], r[1], r[2], r[3]) for r in rows]


async def forget(conn: Conn, wa_ids: Sequence[str]) -> dict[str, int]:
    ids = [r[0] for r in await conn.fetch(
        "SELECT id FROM conversation WHERE wa_id = ANY($1) FOR UPDATE", list(wa_ids))]  # fmt: skip
    erased = {
        "outbox": await _count(conn, "outbox", ids),
        "message_link": await _count(conn, "message_link", ids),
        "survey": await _count(conn, "survey", ids),
        "contact_unlinked": await _count(conn, "contact", ids),
    }
    status = await conn.execute("DELETE FROM conversation WHERE id = ANY($1)", ids)
    erased["conversation"] = int(status.split()[-1])
    seen = [(r["source"], r["external_id"]) for r in await _seen(conn, wa_ids)]
    await conn.executemany("DELETE FROM seen_event WHERE source = $1 AND external_id = $2", seen)
    erased["seen_event"] = len(seen)
    rejected = [r["id"] for r in await _rejected(conn, wa_ids)]
    await conn.execute("DELETE FROM rejected_payload WHERE id = ANY($1)", rejected)
    erased["rejected_payload"] = len(rejected)
    return erased


async def purge_batch(conn: Conn, before: float) -> dict[str, int]:
    statements = {
        "seen_event": "DELETE FROM seen_event WHERE (source, external_id) IN (SELECT source,"
        " external_id FROM seen_event WHERE seen_at < $1 LIMIT $2)",
        "message_link": "DELETE FROM message_link WHERE (whatsapp_id, rocketchat_id) IN"
        " (SELECT whatsapp_id, rocketchat_id FROM message_link WHERE created_at < $1 LIMIT $2)",
        "rejected_payload": "DELETE FROM rejected_payload WHERE id IN (SELECT id FROM"
        " rejected_payload WHERE received_at < $1 LIMIT $2)",
        "dead_letter": "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        " WHERE state = 'dead' AND created_at < $1 LIMIT $2)",
        # SKIP LOCKED: a conversation an event holds is coming back to life; the outer
        # conditions are checked again on the row as it is when the delete reaches it.
        "conversation": "DELETE FROM conversation WHERE id IN (SELECT c.id FROM conversation c"
        " WHERE c.room_id IS NULL AND c.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox o"
        " WHERE o.conversation_id = c.id AND o.state != 'dead') LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " AND room_id IS NULL AND updated_at < $1",
    }
    purged = {}
    for kind, sql in statements.items():
        status = await conn.execute(sql, before, PURGE_BATCH)
        purged[kind] = int(status.split()[-1])
    return purged


async def audit(conn: Conn, entry: AuditEntry, wa_id: str | None) -> None:
    key = bytes(await conn.fetchval("SELECT value FROM secret WHERE name = 'audit_key'"))
    subject = subject_of(key, wa_id) if wa_id else entry.subject
    await conn.execute(
        "INSERT INTO audit (at, operator, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        entry.at, entry.operator, entry.action, subject, entry.detail,
    )  # fmt: skip


async def audit_log(conn: Conn, limit: int) -> list[AuditEntry]:
    rows = await conn.fetch(
        "SELECT at, operator, action, subject, detail FROM audit ORDER BY id DESC LIMIT $1",
        limit,
    )
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4]) for r in reversed(rows)]


async def _seen(conn: Conn, wa_ids: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    for wa_id in wa_ids:
        prefix = wamid_prefix(wa_id)
        # starts_with, not a text range: a range's order depends on the collation.
        rows = await conn.fetch(
            "SELECT source, external_id FROM seen_event WHERE source = ANY($1)"
            " AND starts_with(external_id, $2)",
            list(WHATSAPP_SOURCES), prefix,
        )  # fmt: skip
        found += [r for r in rows if wamid_of(r["external_id"], wa_id)]
    return found


async def _rejected(conn: Conn, wa_ids: Sequence[str]) -> list[Any]:
    """Rejected bodies holding one of the ids as a JSON string (see the SQLite backend)."""
    return list(await conn.fetch(
        "SELECT id, source, reason, body, received_at FROM rejected_payload"
        " WHERE EXISTS (SELECT 1 FROM unnest($1::bytea[]) AS w(id)"
        " WHERE position(w.id IN body) > 0)",
        [form for wa_id in wa_ids for form in quoted_forms(wa_id)],
    ))  # fmt: skip


async def _count(conn: Conn, table: str, ids: Sequence[int]) -> int:
    sql = f"SELECT COUNT(*) FROM {table} WHERE conversation_id = ANY($1)"
    return int(await conn.fetchval(sql, list(ids)))


async def _rows(conn: Conn, sql: str, arg: object) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(sql, arg)]


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
