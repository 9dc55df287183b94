"""Describing an unexpected exception without what it carries."""

from __future__ import annotations

import traceback
from pathlib import Path


def where(error: BaseException) -> str:
    """`module.py:123 in function` of the innermost frame: enough to find a bug, and unlike
    the exception's message it never quotes the data (a citizen's words, a phone number)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def failure(error: BaseException, what: str = "") -> str:
    """The reason an item a bug met is recorded with: `failed: [what: ]Type at where`."""
    kind = f"{what}: " if what else ""
    return f"failed: {kind}{type(error).__name__} at {where(error)}"
