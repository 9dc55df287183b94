"""The embedded backend: one SQLite file, group commit, one bridge process."""

from bridge.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
