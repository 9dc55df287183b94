"""Interactive (reply buttons / list) limits, contract whatsapp-cloud-api.md §5.3.

Observed error details (seen verbatim in captured Meta answers) are marked (observed); the
others copy their pattern and are (inferred). All are code 131009 ("Parameter value is not
valid"), HTTP 400, and reject the whole message (§10.8).
"""

from __future__ import annotations

from typing import Any

from bridge.sandbox.graph_errors import invalid_value, missing_param, param_error

OTHER_INTERACTIVE = (
    "cta_url", "flow", "location_request_message", "product", "product_list",
    "address_message", "call_permission_request",
)  # fmt: skip
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096  # current page; older pages said 1024 (§5.3)
FOOTER_MAX = 60
HEADER_TEXT_MAX = 60
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
SECTION_TITLE_MAX = 24
MAX_ROWS = 10
MAX_SECTIONS = 10


def validate_interactive(obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    if kind == "button":
        _validate_frame(obj, body_max=BUTTON_BODY_MAX, text_header_only=False)
        _validate_buttons(obj.get("action"))
    elif kind == "list":
        _validate_frame(obj, body_max=LIST_BODY_MAX, text_header_only=True)
        _validate_list(obj.get("action"))
    elif kind in OTHER_INTERACTIVE:
        return  # out of scope for v1 (§5.4): accepted without deeper checks
    else:
        raise param_error("Param interactive['type'] must be one of {BUTTON, LIST, ...}")


def _text_of(part: Any) -> str | None:
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return str(part["text"])
    return None


def _length_check(value: str, label: str, maximum: int) -> None:
    if not 1 <= len(value) <= maximum:
        raise invalid_value(f"{label} length invalid. Min length: 1, Max length: {maximum}")


def _validate_frame(obj: dict[str, Any], *, body_max: int, text_header_only: bool) -> None:
    body = _text_of(obj.get("body"))
    if body is None:
        raise missing_param("The parameter interactive['body']['text'] is required.")
    _length_check(body, "Body text", body_max)  # (inferred)
    if "footer" in obj:
        footer = _text_of(obj["footer"])
        _length_check(footer or "", "Footer text", FOOTER_MAX)  # (inferred)
    header = obj.get("header")
    if header is None:
        return
    if not isinstance(header, dict):
        raise param_error("Param interactive['header'] must be an object.")
    if header.get("type") == "text":
        _length_check(str(header.get("text") or ""), "Header text", HEADER_TEXT_MAX)
    elif text_header_only or header.get("type") not in ("image", "video", "document"):
        # List headers are text only (§5.3).
        raise invalid_value("Header type is not supported for this message")  # (inferred)


def _validate_buttons(action: Any) -> None:
    buttons = action.get("buttons") if isinstance(action, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        # (observed) verbatim in a captured 131009 answer.
        raise invalid_value("Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
    ids: set[str] = set()
    titles: set[str] = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            raise missing_param("The parameter buttons[]['reply'] is required.")  # (inferred)
        button_id, title = str(reply.get("id") or ""), str(reply.get("title") or "")
        # (observed) "Button title length invalid. Min length: 1, Max length: 20".
        _length_check(title, "Button title", BUTTON_TITLE_MAX)
        _length_check(button_id, "Button id", BUTTON_ID_MAX)  # (inferred)
        if button_id in ids or title in titles:
            raise invalid_value("Button ids and titles must be unique")  # (inferred)
        ids.add(button_id)
        titles.add(title)


def _validate_list(action: Any) -> None:
    if not isinstance(action, dict):
        raise missing_param("The parameter interactive['action'] is required.")
    _length_check(str(action.get("button") or ""), "Button title", BUTTON_TITLE_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise invalid_value(  # (inferred) by analogy with the buttons-count message
            "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10"
        )
    rows: list[Any] = []
    for section in sections:
        rows.extend(_section_rows(section, titled=len(sections) > 1))
    if len(rows) > MAX_ROWS:
        raise invalid_value("Total row count exceed max allowed count: 10")  # (observed)
    if not rows:
        raise invalid_value("Total row count should be at least 1")  # (inferred)
    row_ids = [_validate_row(row) for row in rows]
    if len(set(row_ids)) != len(row_ids):
        raise invalid_value("Row ids must be unique")  # (inferred)


def _section_rows(section: Any, *, titled: bool) -> list[Any]:
    if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
        raise missing_param("The parameter sections[]['rows'] is required.")  # (inferred)
    title = section.get("title")
    if titled and not title:
        # Section titles are required when there is more than one section. (inferred)
        raise missing_param("The parameter sections[]['title'] is required.")
    if isinstance(title, str) and len(title) > SECTION_TITLE_MAX:
        raise invalid_value("Section title is too long. Max length is 24")  # (inferred)
    return list(section["rows"])


def _validate_row(row: Any) -> str:
    if not isinstance(row, dict):
        raise missing_param("The parameter rows[] must be an object.")  # (inferred)
    row_id, title = str(row.get("id") or ""), str(row.get("title") or "")
    if not title:
        raise missing_param("The parameter rows[]['title'] is required.")  # (inferred)
    if len(title) > ROW_TITLE_MAX:
        raise invalid_value("Row title is too long. Max length is 24")  # (observed)
    description = row.get("description")
    if isinstance(description, str) and len(description) > ROW_DESCRIPTION_MAX:
        raise invalid_value("Row description is too long. Max length is 72")  # (observed)
    if not row_id:
        raise missing_param("The parameter rows[]['id'] is required.")  # (inferred)
    if len(row_id) > ROW_ID_MAX:
        raise invalid_value("Row id is too long. Max length is 200")  # (inferred)
    return row_id
