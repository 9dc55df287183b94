"""Errors every backend raises when it is opened."""


class StoreError(Exception):
    """The database cannot be used (newer than this code, unreadable, not writable)."""
