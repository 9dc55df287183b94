"""Backends of the core's storage port (bridge.core.storage). Every SQL statement lives here."""

from pathlib import Path
from typing import Protocol

from bridge.core.contacts import ContactRecords
from bridge.core.privacy import PersonalData
from bridge.core.storage import Storage
from bridge.store.errors import StoreError
from bridge.store.sqlite import SqliteStore


class Database(Storage, PersonalData, ContactRecords, Protocol):
    """A backend: the core's storage port, the LGPD duties and the contact records."""


def is_postgres(target: Path | str) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


async def open_store(target: Path | str) -> Database:
    """Open the configured database for the daemon: a PostgreSQL URL, or a SQLite file
    (or ':memory:')."""
    if is_postgres(target):
        from bridge.store.postgres import PostgresStore  # noqa: PLC0415 - only when asked

        return await PostgresStore.open(str(target))
    return await SqliteStore.open(target)


async def open_admin_store(target: Path | str) -> Database:
    """Open the database beside a running daemon (`check`, `export`, `forget`, ...):
    it leaves the daemon's deliveries alone."""
    if is_postgres(target):
        from bridge.store.postgres import PostgresStore  # noqa: PLC0415 - only when asked

        return await PostgresStore.open(str(target), max_size=2)
    return await SqliteStore.open(target, admin=True)


__all__ = ["Database", "SqliteStore", "StoreError", "open_admin_store", "open_store"]
