"""The backends the store contract suite runs against, each opened fresh per test.

A backend gives the suite its `Storage` plus a raw-SQL hook, used only to do what the
port must never allow (damage a row, read a column the port hides)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bridge.core.storage import Storage
from bridge.store import SqliteStore
from bridge.store.postgres import PostgresStore
from bridge.store.postgres.tx import numbered

Sql = Callable[[str, tuple[Any, ...]], Awaitable[list[tuple[Any, ...]]]]


@dataclass
class Backend:
    name: str
    storage: Storage
    sql: Sql  # raw SQL, '?' placeholders (turned into $n for PostgreSQL)
    reopen: Callable[[], Awaitable[Storage]] | None  # None where nothing survives a close

    async def damage_conversation(self, conversation_id: int) -> None:
        """Give a conversation a state this code does not know (as a newer release might)."""
        if self.name == "postgres":
            await self.sql("ALTER TABLE conversation DROP CONSTRAINT conversation_state_check", ())
        else:
            await self.sql("PRAGMA ignore_check_constraints = ON", ())
        await self.sql("UPDATE conversation SET state = 'paused' WHERE id = ?", (conversation_id,))
        if self.name != "postgres":
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


# The PostgreSQL server the suite uses; each test gets a schema of its own in it.
POSTGRES_URL = os.environ.get("BRIDGE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


async def postgres_reachable() -> str | None:
    """None when the server answers, else why not (the tests then skip, saying so)."""
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return (
            f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); set BRIDGE_TEST_POSTGRES_URL"
        )
    await conn.close()
    return None


@asynccontextmanager
async def fresh_schema(prefix: str) -> AsyncIterator[str]:
    """A schema of its own on the test server, dropped after; skips (saying why) where no
    server answers. The bridge is pointed at it with `?search_path=<name>` in its URL
    (asyncpg passes unknown URL parameters on as server settings)."""
    if (why := await postgres_reachable()) is not None:
        pytest.skip(why)
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_URL)
    await admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        await admin.execute(f"DROP SCHEMA {name} CASCADE")
        await admin.close()


@asynccontextmanager
async def postgres(_tmp_path: Path) -> AsyncIterator[Backend]:
    async with fresh_schema("contract") as name, _postgres_backend(name) as backend:
        yield backend


@asynccontextmanager
async def _postgres_backend(name: str) -> AsyncIterator[Backend]:
    settings = {"search_path": name}
    opened = [await PostgresStore.open(POSTGRES_URL, server_settings=settings)]

    async def reopen() -> Storage:
        await opened[-1].close()
        opened.append(await PostgresStore.open(POSTGRES_URL, server_settings=settings))
        return opened[-1]

    async def sql(statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(POSTGRES_URL, server_settings=settings)
        try:
            return [tuple(r) for r in await conn.fetch(numbered(statement), *args)]
        finally:
            await conn.close()

    try:
        yield Backend("postgres", opened[0], sql, reopen)
    finally:
        for each in opened:
            await each.close()


BACKENDS = {"sqlite-file": sqlite_file, "sqlite-memory": sqlite_memory, "postgres": postgres}
