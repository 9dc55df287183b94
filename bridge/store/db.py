"""Opening the SQLite database: pragmas and numbered migrations tracked by user_version."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import aiosqlite


class StoreError(Exception):
    """The database cannot be used (newer than this code, unreadable, not writable)."""


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every bundled migration, in order."""
    folder = resources.files("bridge.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for position, (number, name, _) in enumerate(found, start=1):
        if number != position:
            raise StoreError(f"migration {name} is out of sequence (expected {position:04d})")
    return found


async def connect(path: Path | str) -> aiosqlite.Connection:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    # WAL lets readers run beside the writer; FULL makes every acknowledged webhook survive
    # a power cut, not only a process crash; busy_timeout covers a second process (backup,
    # `bridge check`) holding the lock for a moment.
    for pragma in (
        "journal_mode = WAL",
        "synchronous = FULL",
        "foreign_keys = ON",
        "busy_timeout = 5000",
    ):
        await conn.execute(f"PRAGMA {pragma}")
    try:
        await migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return conn


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations, each in its own transaction; return the schema version."""
    available = migrations()
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > len(available):
        raise StoreError(
            f"database schema version {current} is newer than this bridge "
            f"(knows up to {len(available)}); upgrade the bridge or restore a backup"
        )
    for number, name, sql in available[current:]:
        try:
            await conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        except Exception as exc:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
    return len(available)
