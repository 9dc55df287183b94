"""Opening the SQLite database: pragmas, and numbered migrations tracked by user_version."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from bridge.store.errors import StoreError, check_not_newer

MEMORY = ":memory:"


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every bundled migration, in order."""
    folder = resources.files("bridge.store.sqlite") / "migrations"
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


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the bridge's pragmas; the writer's also migrates."""
    if path != MEMORY and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        for pragma in pragmas(read_only):
            conn.execute(f"PRAGMA {pragma}")
        if not read_only:
            migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def pragmas(read_only: bool) -> tuple[str, ...]:
    # WAL lets readers run beside the writer; FULL makes every acknowledged webhook survive
    # a power cut, not only a process crash; busy_timeout covers a second process (backup,
    # `bridge check`) holding the lock for a moment.
    if read_only:
        return ("busy_timeout = 5000", "query_only = ON")
    return ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON", "busy_timeout = 5000")


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction; return the schema version."""
    available = migrations()
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    check_not_newer(current, len(available))
    for number, name, sql in available[current:]:
        try:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
    return len(available)
