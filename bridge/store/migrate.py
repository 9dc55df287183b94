"""`python -m bridge migrate-store --from sqlite:///… --to postgresql://…`: moving a bridge
from one machine (SQLite) to several replicas (PostgreSQL), issue #11 §3.

Stop the bridge first. Every table is copied as it is (ids included, so links, outbox rows
and contact records keep pointing at their conversations), the target's id sequences are
moved past the copied ids, the audit key comes along (so old audit hashes still match),
and every table's row count is compared at the end. A target that already holds data is
refused: this never merges two databases."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

import asyncpg

from bridge.store import is_postgres
from bridge.store.errors import StoreError
from bridge.store.postgres import PostgresStore
from bridge.store.sqlite import schema as sqlite_schema

# In an order the foreign keys accept.
TABLES = (
    "conversation", "outbox", "lane", "message_link", "survey", "contact", "seen_event",
    "counter", "rejected_payload", "audit",
)  # fmt: skip
SERIALS = ("conversation", "outbox", "survey", "contact", "rejected_payload", "audit")


def run(args: argparse.Namespace) -> int:
    if not args.source.startswith("sqlite:///") or not is_postgres(args.target):
        print("--from must be sqlite:///path and --to postgresql://…", file=sys.stderr)
        return 2
    try:
        counts = asyncio.run(migrate(args.source.removeprefix("sqlite:///"), args.target))
    except (StoreError, OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
        print(f"migrate-store: {exc}", file=sys.stderr)
        return 1
    print("copied and counted: " + ", ".join(f"{t}={n}" for t, n in counts.items()))
    return 0


async def migrate(source: str, target: str) -> dict[str, int]:
    """Copy everything; returns the rows per table (equal on both sides, or StoreError)."""
    conn = sqlite_schema.connect(source)  # migrates an older file to the current schema
    try:
        store = await PostgresStore.open(target, max_size=2)  # creates the tables
        await store.close()
        pg = await asyncpg.connect(target)
        try:
            async with pg.transaction():
                await _refuse_non_empty(pg)
                for table in TABLES:
                    await _copy(conn, pg, table)
                key = conn.execute("SELECT value FROM secret WHERE name = 'audit_key'").fetchone()
                await pg.execute("UPDATE secret SET value = $1 WHERE name = 'audit_key'",
                                 bytes(key[0]))  # fmt: skip
                for table in SERIALS:
                    await pg.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
                return await _compare(conn, pg)
        finally:
            await pg.close()
    finally:
        conn.close()


async def _refuse_non_empty(pg: asyncpg.Connection) -> None:
    for table in TABLES:
        if await pg.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise StoreError(f"the target already holds data (table {table}); migrate-store"
                             " copies into an empty database only")  # fmt: skip


async def _copy(conn: sqlite3.Connection, pg: asyncpg.Connection, table: str) -> None:
    cursor = conn.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(5000):
        records = [tuple(_value(v) for v in row) for row in rows]
        await pg.copy_records_to_table(table, records=records, columns=columns)


def _value(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview) else value


async def _compare(conn: sqlite3.Connection, pg: asyncpg.Connection) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        here = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        there = await pg.fetchval(f"SELECT COUNT(*) FROM {table}")
        if here != there:
            raise StoreError(f"table {table}: {here} rows in SQLite, {there} copied")
        counts[table] = int(there)
    return counts
