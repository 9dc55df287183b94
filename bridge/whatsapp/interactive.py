"""The bot's neutral menus (SendMenu.reply) as Cloud API `interactive` objects.

Neutral form, written by bridge.botlink:
  {"kind": "buttons", "body", "header"?, "footer"?, "buttons": [{"id", "title"}]}
  {"kind": "list", "body", "button", "header"?, "footer"?,
   "sections": [{"title", "rows": [{"id", "title", "description"?}]}]}
The flow loader already rejects anything over WhatsApp's limits (contract §3: 3 buttons of
20 characters, 10 rows of 24, descriptions of 72), so nothing is cut here.
"""

from __future__ import annotations

from typing import Any


def render(menu: dict[str, Any]) -> dict[str, Any]:
    if menu.get("kind") == "buttons":
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": b["id"], "title": b["title"]}}
                for b in menu["buttons"]
            ]
        }
        kind = "button"
    else:
        action = {"button": menu["button"], "sections": [_section(s) for s in menu["sections"]]}
        kind = "list"
    body: dict[str, Any] = {"type": kind, "body": {"text": menu["body"]}, "action": action}
    if menu.get("header"):
        body["header"] = {"type": "text", "text": menu["header"]}
    if menu.get("footer"):
        body["footer"] = {"text": menu["footer"]}
    return body


def _section(section: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in section["rows"]:
        item = {"id": row["id"], "title": row["title"]}
        if row.get("description"):
            item["description"] = row["description"]
        rows.append(item)
    out: dict[str, Any] = {"rows": rows}
    if section.get("title"):
        out["title"] = section["title"]
    return out
