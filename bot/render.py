"""Turning a menu (or survey, or yes/no question) into a reply that WhatsApp accepts.

Up to three short options become reply buttons; up to ten a list; more become pages of a
list with a "more options" row, or numbered text when the flow asks for text. Typed
answers work with every layout, so citizens who type are never stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot import limits
from bot.limits import clip
from bot.model import Display, MenuNode, Messages, SurveyNode
from bot.replies import ButtonsReply, ListReply, Option, Reply, Row, Section, TextReply

Layout = Literal["buttons", "list", "pages", "text"]
MORE = "#more"
PAGE_SIZE = limits.LIST_ROWS_MAX - 1  # one row is kept for "more options"


@dataclass(frozen=True)
class Item:
    """An option as it will be displayed."""

    key: str
    number: int
    title: str
    description: str | None = None
    section: str | None = None


def wire_id(node_id: str, key: str) -> str:
    """The button/row id sent to WhatsApp; it comes back when the citizen taps."""
    return f"{node_id}:{key}"


def more_id(node_id: str, offset: int) -> str:
    return wire_id(node_id, f"{MORE}:{offset}")


def layout(display: Display, count: int, described: bool) -> Layout:
    """How a menu of `count` options is shown (descriptions only fit in lists)."""
    if display == "text":
        return "text"
    fits_buttons = count <= limits.BUTTONS_MAX and not described
    if display == "buttons" or (display == "auto" and fits_buttons):
        return "buttons"
    return "list" if count <= limits.LIST_ROWS_MAX else "pages"


def items_of(node: MenuNode | SurveyNode) -> list[Item]:
    if isinstance(node, MenuNode):
        return [
            Item(o.key, i + 1, o.title, o.description, o.section)
            for i, o in enumerate(node.options)
        ]
    return [Item(str(o.score), o.score, o.title, o.description) for o in node.options]


def node_layout(node: MenuNode | SurveyNode) -> Layout:
    items = items_of(node)
    return layout(node.display, len(items), any(i.description for i in items))


def render_menu(
    node: MenuNode | SurveyNode, body: str, messages: Messages, offset: int = 0
) -> Reply:
    """The reply showing `node`'s options under `body` (page starting at `offset`)."""
    items = items_of(node)
    shape = node_layout(node)
    if shape == "text":
        return TextReply(numbered(body, items, node.header, node.footer))
    if shape == "buttons":
        buttons = tuple(
            Option(wire_id(node.id, i.key), clip(i.title, limits.BUTTON_TITLE)) for i in items
        )
        return ButtonsReply(
            clip(body, limits.INTERACTIVE_BODY),
            buttons,
            _short(node.header, limits.HEADER),
            _short(node.footer, limits.FOOTER),
        )
    rows = _page_rows(node.id, items, messages, offset if shape == "pages" else 0)
    return ListReply(
        body=clip(body, limits.INTERACTIVE_BODY),
        button=clip(node.button or messages.list_button, limits.LIST_BUTTON),
        sections=_sections(rows, messages.list_section),
        header=_short(node.header, limits.HEADER),
        footer=_short(node.footer, limits.FOOTER),
    )


def render_yesno(node_id: str, body: str, messages: Messages) -> ButtonsReply:
    buttons = (
        Option(wire_id(node_id, "yes"), clip(messages.yes, limits.BUTTON_TITLE)),
        Option(wire_id(node_id, "no"), clip(messages.no, limits.BUTTON_TITLE)),
    )
    return ButtonsReply(clip(body, limits.INTERACTIVE_BODY), buttons)


def numbered(body: str, items: Sequence[Item], header: str | None, footer: str | None) -> str:
    lines = [f"*{header}*", ""] if header else []
    lines += [body, ""]
    for item in items:
        extra = f" — {item.description}" if item.description else ""
        lines.append(f"*{item.number}.* {item.title}{extra}")
    if footer:
        lines += ["", f"_{footer}_"]
    return clip("\n".join(lines), limits.TEXT_BODY)


def next_offset(count: int, offset: int) -> int:
    """The first option of the page after the one starting at `offset` (wrapping)."""
    following = offset + PAGE_SIZE
    return following if following < count else 0


def _short(text: str | None, limit: int) -> str | None:
    return None if text is None else clip(text, limit)


def _page_rows(
    node_id: str, items: Sequence[Item], messages: Messages, offset: int
) -> list[tuple[str | None, Row]]:
    paged = len(items) > limits.LIST_ROWS_MAX
    shown = items[offset : offset + PAGE_SIZE] if paged else items
    rows = [
        (
            i.section,
            Row(
                wire_id(node_id, i.key),
                clip(i.title, limits.ROW_TITLE),
                _short(i.description, limits.ROW_DESCRIPTION),
            ),
        )
        for i in shown
    ]
    if paged:
        more = Row(
            more_id(node_id, next_offset(len(items), offset)),
            clip(messages.more_options, limits.ROW_TITLE),
            clip(messages.more_description, limits.ROW_DESCRIPTION),
        )
        rows.append((rows[-1][0] if rows else None, more))
    return rows


def _sections(rows: Sequence[tuple[str | None, Row]], default: str) -> tuple[Section, ...]:
    grouped: list[tuple[str, list[Row]]] = []
    for name, row in rows:
        title = clip(name or default, limits.SECTION_TITLE)
        if grouped and grouped[-1][0] == title:
            grouped[-1][1].append(row)
        else:
            grouped.append((title, [row]))
    return tuple(Section(title, tuple(group)) for title, group in grouped)
