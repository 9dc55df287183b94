"""Backends of the core's storage port (bridge.core.storage). Every SQL statement lives here."""

from pathlib import Path

from bridge.core.storage import Storage
from bridge.store.errors import StoreError
from bridge.store.sqlite import SqliteStore


async def open_store(target: Path | str) -> Storage:
    """Open the configured database (today a SQLite file, or ':memory:')."""
    return await SqliteStore.open(target)


__all__ = ["SqliteStore", "StoreError", "open_store"]
