"""WhatsApp Cloud API size limits for the messages the bot sends.

The numbers come from the contract (whatsapp-cloud-api.md §5.3). Meta rejects the whole
message when one field is too long, so the flow is checked against these at load time and
the renderer clips as a last resort.
"""

from __future__ import annotations

TEXT_BODY = 4096
INTERACTIVE_BODY = 1024  # the list page allows 4096 now; older clients and docs say 1024
HEADER = 60
FOOTER = 60

BUTTONS_MAX = 3
BUTTON_TITLE = 20
BUTTON_ID = 256

LIST_BUTTON = 20
LIST_ROWS_MAX = 10
LIST_SECTIONS_MAX = 10
ROW_TITLE = 24
ROW_ID = 200
ROW_DESCRIPTION = 72
SECTION_TITLE = 24


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
