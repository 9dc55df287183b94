"""The backends the store contract suite runs against, each opened fresh per test.

A backend gives the suite its `Storage` plus a raw-SQL hook, used only to do what the
port must never allow (damage a row, read a column the port hides)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.core.storage import Storage
from bridge.store import SqliteStore

Sql = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]


@dataclass
class Backend:
    name: str
    storage: Storage
    sql: Sql  # raw SQL in the backend's dialect, '?' placeholders
    reopen: Callable[[], Awaitable[Storage]] | None  # None where nothing survives a close

    async def damage_conversation(self, conversation_id: int) -> None:
        """Give a conversation a state this code does not know (as a newer release might)."""
        await self.sql("PRAGMA ignore_check_constraints = ON", ())
        await self.sql("UPDATE conversation SET state = 'paused' WHERE id = ?", (conversation_id,))
        await self.sql("PRAGMA ignore_check_constraints = OFF", ())


def _sqlite_sql(store: SqliteStore) -> Sql:
    async def sql(statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        rows = await store._writer.run(lambda conn: conn.execute(statement, args).fetchall())
        return [tuple(r) for r in rows]

    return sql


@asynccontextmanager
async def sqlite_file(tmp_path: Path) -> AsyncIterator[Backend]:
    path = tmp_path / "contract.db"
    store = await SqliteStore.open(path)
    opened: list[SqliteStore] = [store]

    async def reopen() -> Storage:
        await opened[-1].close()
        opened.append(await SqliteStore.open(path))
        return opened[-1]

    try:
        yield Backend("sqlite-file", store, _sqlite_sql(store), reopen)
    finally:
        for each in opened:
            await each.close()


@asynccontextmanager
async def sqlite_memory(_tmp_path: Path) -> AsyncIterator[Backend]:
    store = await SqliteStore.open(":memory:")
    try:
        yield Backend("sqlite-memory", store, _sqlite_sql(store), None)
    finally:
        await store.close()


BACKENDS = {"sqlite-file": sqlite_file, "sqlite-memory": sqlite_memory}
