"""PostgreSQL: numbered migrations in migrations/, applied under an advisory lock so that
two replicas starting together migrate once (the second waits, then finds nothing to do)."""

from __future__ import annotations

import secrets
from importlib import resources
from typing import TYPE_CHECKING

import asyncpg

from bridge.store.errors import StoreError, check_not_newer

if TYPE_CHECKING:
    from bridge.store.postgres.tx import Conn

# pg_advisory_lock key: any constant of our own (the bytes of "bridgemg").
MIGRATION_LOCK = 0x6272696467656D67


def migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bridge.store.postgres") / "migrations"
    found = sorted(
        (int(entry.name.split("_", 1)[0]), entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    for position, (number, name, _) in enumerate(found, start=1):
        if number != position:
            raise StoreError(f"migration {name} is out of sequence (expected {position:04d})")
    return found


async def migrate(conn: Conn) -> int:
    """Apply pending migrations, each in its own transaction; return the schema version."""
    available = migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0
        check_not_newer(current, len(available))
        for number, name, sql in available[current:]:
            try:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version VALUES ($1)", number)
            except asyncpg.PostgresError as exc:
                raise StoreError(f"migration {name} failed: {exc}") from exc
        # The audit's phone-hash key, made once per database.
        await conn.execute(
            "INSERT INTO secret (name, value) VALUES ('audit_key', $1) ON CONFLICT DO NOTHING",
            secrets.token_bytes(32),
        )
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return len(available)
