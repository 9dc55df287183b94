"""The reads every backend answers with the same SQL (written with `?` placeholders; the
PostgreSQL backend numbers them): what /readyz, /metrics, the reconciler, the reports and
the reply quoting ask for, none of it under a write lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from bridge.core.contacts import ContactRecord
from bridge.core.model import Conversation
from bridge.core.storage import CounterRecord, SurveyRecord, UnreadableRow
from bridge.store.rows import CONVERSATION_COLUMNS, conversation

log = structlog.get_logger("bridge.store")

CONTACT_COLUMNS = ", ".join(ContactRecord.__dataclass_fields__)


class Reads:
    # Where counters are read from: PostgreSQL adds its slots (its migration 0002).
    COUNTERS = "counter"

    async def _read(self, sql: str, *args: object) -> list[Any]:
        """Rows of one query with `?` placeholders; StorageUnavailable when the database
        cannot answer."""
        raise NotImplementedError

    async def open_rooms(self) -> list[Conversation]:
        rows = await self._read(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE room_id IS NOT NULL"
        )
        found = []
        for row in rows:
            try:
                found.append(conversation(row))
            except UnreadableRow as exc:  # one damaged row must not hide every other room
                log.error("store.unreadable", reason=str(exc))
        return found

    async def room_conversation(self, room_id: str) -> Conversation | None:
        rows = await self._read(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE room_id = ? LIMIT 1", room_id
        )
        return conversation(rows[0]) if rows else None

    async def seen_ids(self, source: str, external_ids: Sequence[str]) -> set[str]:
        if not external_ids:
            return set()
        marks = ", ".join("?" * len(external_ids))
        rows = await self._read(
            f"SELECT external_id FROM seen_event WHERE source = ? AND external_id IN ({marks})",
            source, *external_ids,
        )  # fmt: skip
        return {str(r[0]) for r in rows}

    async def outbox_depth(self) -> dict[str, int]:
        rows = await self._read("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {r[0]: r[1] for r in rows}

    async def outbox_backlog(self) -> list[tuple[str, str, int, float | None]]:
        rows = await self._read(
            "SELECT destination, state, COUNT(*), MIN(created_at) FROM outbox"
            " GROUP BY destination, state"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def conversation_states(self) -> dict[str, int]:
        rows = await self._read("SELECT state, COUNT(*) FROM conversation GROUP BY state")
        return {r[0]: r[1] for r in rows}

    async def counters(self) -> list[CounterRecord]:
        rows = await self._read(
            f"SELECT day, name, label, CAST(SUM(value) AS BIGINT) FROM {self.COUNTERS} AS c"
            " GROUP BY day, name, label ORDER BY day, name, label"
        )
        return [CounterRecord(r[0], r[1], r[2], r[3]) for r in rows]

    async def excerpt(self, whatsapp_id: str) -> str | None:
        rows = await self._read(
            "SELECT excerpt FROM message_link WHERE whatsapp_id = ? ORDER BY created_at LIMIT 1",
            whatsapp_id,
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    async def whatsapp_id(self, rocketchat_id: str) -> str | None:
        rows = await self._read(
            "SELECT whatsapp_id FROM message_link WHERE rocketchat_id = ?"
            " ORDER BY created_at LIMIT 1",
            rocketchat_id,
        )
        return str(rows[0][0]) if rows else None

    async def relayed(self, rocketchat_id: str, excerpt: str) -> bool:
        rows = await self._read(
            "SELECT 1 FROM message_link WHERE rocketchat_id = ? AND excerpt = ? LIMIT 1",
            rocketchat_id,
            excerpt,
        )
        return bool(rows)

    async def surveys(self) -> list[SurveyRecord]:
        rows = await self._read(
            "SELECT conversation_id, department, score, comment FROM survey ORDER BY id"
        )
        return [SurveyRecord(r[0], r[1], r[2], r[3]) for r in rows]

    async def contacts(self, since: float, until: float) -> list[ContactRecord]:
        rows = await self._read(
            f"SELECT {CONTACT_COLUMNS} FROM contact WHERE started_at >= ? AND started_at < ?"
            " ORDER BY started_at, id",
            since, until,
        )  # fmt: skip
        return [ContactRecord(*tuple(r)) for r in rows]
