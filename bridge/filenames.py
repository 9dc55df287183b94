"""File names from outside (a citizen's upload, an agent's attachment) made safe to put into
a multipart `Content-Disposition` header and in front of a person."""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 180  # bytes are what headers and file systems limit; this leaves room for UTF-8


def safe_filename(name: str | None, fallback: str = "arquivo") -> str:
    """Control characters, quotes, backslashes and path separators become `_` (a CR or a
    quote would end the header, a slash names a directory); leading dots and spaces go; an
    empty result is `fallback`. Accents stay: Rocket.Chat and Meta read UTF-8 names."""
    cleaned = "".join("_" if _unsafe(ch) else ch for ch in unicodedata.normalize("NFC", name or ""))
    cleaned = cleaned.strip().lstrip(". ")
    if len(cleaned) > MAX_LENGTH:
        _stem, dot, ext = cleaned.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        cleaned = cleaned[: MAX_LENGTH - len(keep) - 1] + ("." + keep if keep else "")
    return cleaned or fallback


def _unsafe(ch: str) -> bool:
    return ch in '"\\/' or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
