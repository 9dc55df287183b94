"""JSON on the HTTP clients' hot path (every relayed message is one call), with orjson."""

from __future__ import annotations

from typing import Any

import orjson


def json_body(raw: bytes) -> Any:
    """An answer's JSON; None when it is empty or not JSON (a proxy's HTML page, a body
    cut short): the callers classify that themselves. Rocket.Chat and the Graph API both
    answer UTF-8 (RFC 8259 §8.1 requires it), so no charset is looked up."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def json_text(value: Any) -> str:
    """The ClientSession's `json_serialize` (aiohttp wants str)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
