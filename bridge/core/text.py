"""Cutting a long text into messages WhatsApp accepts, where a reader would cut it.

A text message's body holds at most 4,096 characters (contract §5.3); a longer one is
refused whole. So an agent's long reply goes out as several messages, in order, each cut at
the last paragraph break that fits, else the last sentence end, else the last space, and
only as a last resort inside a word.
"""

from __future__ import annotations

import re

TEXT_LIMIT = 4096

_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut(rest[: limit + 1], limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _cut(window: str, limit: int) -> int:
    """Where to end the first part, looking at the first `limit + 1` characters."""
    floor = limit // 2  # a part shorter than half the limit is not worth a better boundary
    paragraph = window.rfind("\n\n", 0, limit)
    if paragraph >= floor:
        return paragraph
    sentences = [m.end() for m in _SENTENCE_END.finditer(window, 0, limit)]
    if sentences and sentences[-1] >= floor:
        return sentences[-1]
    line = window.rfind("\n", 0, limit)
    if line >= floor:
        return line
    space = window.rfind(" ", 0, limit)
    return space if space >= floor else limit
