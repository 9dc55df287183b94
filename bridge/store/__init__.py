"""Persistence: SQLite via aiosqlite, numbered migrations, one Store with typed methods."""

from bridge.store.db import StoreError
from bridge.store.store import OutboxRow, Store, Tx

__all__ = ["OutboxRow", "Store", "StoreError", "Tx"]
