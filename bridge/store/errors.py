"""Errors every backend raises when it is opened."""


class StoreError(Exception):
    """The database cannot be used (newer than this code, unreadable, not writable)."""


def check_not_newer(current: int, known: int) -> None:
    """A database migrated by a newer release is left alone, whatever the backend."""
    if current > known:
        raise StoreError(
            f"database schema version {current} is newer than this bridge "
            f"(knows up to {known}); upgrade the bridge or restore a backup"
        )
