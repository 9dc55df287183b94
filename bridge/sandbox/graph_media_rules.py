"""Supported media types and sizes for uploads (contract whatsapp-cloud-api.md §6.5)."""

from __future__ import annotations

from bridge.sandbox.graph_errors import GraphError, param_error

MB = 1024 * 1024

# MIME (without parameters) -> (kind, max bytes).
SUPPORTED: dict[str, tuple[str, int]] = {
    "audio/aac": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "document",
        100 * MB,
    ),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "document",
        100 * MB,
    ),
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("sticker", 500 * 1024),  # animated stickers; static ones 100 KB
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
}


def base_mime(mime: str) -> str:
    return mime.split(";", maxsplit=1)[0].strip().lower()


def check_upload(mime: str, size: int) -> str:
    """Return the media kind, or raise like Meta would (texts (inferred))."""
    entry = SUPPORTED.get(base_mime(mime))
    if entry is None:
        raise param_error(
            f"Param file must be a file with one of the following types: "
            f"{', '.join(SUPPORTED)}. Received file of type '{mime}'."
        )
    kind, limit = entry
    if size == 0 or size > limit:
        # Pattern of a real 131053 detail ("Video file has size 63787247 bytes but must be
        # atmost 16777216 bytes and non-empty"), which Meta usually reports asynchronously.
        raise GraphError(
            131053,
            details=(
                f"{kind.capitalize()} file has size {size} bytes but must be atmost "
                f"{limit} bytes and non-empty"
            ),
        )
    return kind
