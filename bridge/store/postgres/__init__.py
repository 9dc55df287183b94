"""The PostgreSQL backend of the storage port (several replicas on one database)."""

from bridge.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
