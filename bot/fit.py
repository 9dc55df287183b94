"""Load-time proof that every message the flow can produce fits WhatsApp's limits.

A menu's limits depend on how it will be shown (buttons, list, pages, numbered text), so
this uses the same `layout` decision as the renderer. Meta rejects the whole message when
one title is one character too long; better to refuse the flow at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator

from bot import limits
from bot.model import AskNode, Flow, MenuNode, Node, SurveyNode
from bot.render import Item, items_of, node_layout, wire_id
from bot.texts import PLACEHOLDER


def check_fit(flow: Flow) -> list[str]:
    errors = list(_messages(flow))
    for node in flow.nodes.values():
        errors += _node(flow, node)
    if flow.after_close.text:
        errors += _length("after_close", "text", flow.after_close.text, limits.TEXT_BODY)
    return errors


def _length(where: str, field: str, text: str | None, limit: int) -> list[str]:
    # Placeholders are measured by their name: answers are unknown until run time, and the
    # renderer clips anything that still ends up too long.
    size = len(PLACEHOLDER.sub("", text)) if text else 0
    if size <= limit:
        return []
    return [f"{where}, field '{field}': {size} characters, WhatsApp allows at most {limit}"]


def _messages(flow: Flow) -> Iterator[str]:
    m = flow.messages
    yield from _length("messages", "list_button", m.list_button, limits.LIST_BUTTON)
    yield from _length("messages", "list_section", m.list_section, limits.SECTION_TITLE)
    yield from _length("messages", "more_options", m.more_options, limits.ROW_TITLE)
    yield from _length("messages", "more_description", m.more_description, limits.ROW_DESCRIPTION)
    yield from _length("messages", "yes", m.yes, limits.BUTTON_TITLE)
    yield from _length("messages", "no", m.no, limits.BUTTON_TITLE)
    for field in ("not_understood", "survey_retry"):
        yield from _length(
            "messages",
            field.replace("survey_", "survey."),
            getattr(m, field),
            limits.INTERACTIVE_BODY,
        )
    for kind, text in m.invalid.items():
        yield from _length("messages", f"invalid.{kind}", text, limits.INTERACTIVE_BODY)
    for field, text in vars(m.offline).items():
        yield from _length("messages", f"offline.{field}", text, limits.TEXT_BODY)
    yield from _length("messages", "timeout", m.timeout, limits.TEXT_BODY)


def _node(flow: Flow, node: Node) -> list[str]:
    where = f"node '{node.id}'"
    if isinstance(node, MenuNode | SurveyNode):
        return _menu(flow, node)
    if isinstance(node, AskNode) and node.validation == "yesno":
        return _length(where, "text", node.text, limits.INTERACTIVE_BODY) + _length(
            where, "retry", node.retry, limits.INTERACTIVE_BODY
        )
    errors: list[str] = []
    for field in ("text", "retry", "offline_text", "comment", "thanks"):
        errors += _length(where, field, getattr(node, field, None), limits.TEXT_BODY)
    return errors


def _menu(flow: Flow, node: MenuNode | SurveyNode) -> list[str]:
    where, shape, items = f"node '{node.id}'", node_layout(node), items_of(node)
    if node.display == "buttons" and len(items) > limits.BUTTONS_MAX:
        return [
            f"{where}, field 'display': reply buttons allow at most {limits.BUTTONS_MAX} "
            f"options, this menu has {len(items)} (use 'auto' or 'list')"
        ]
    if shape == "text":
        lines = "\n".join(f"{i.number}. {i.title} — {i.description or ''}" for i in items)
        return _length(where, "options", f"{node.text}\n{lines}", limits.TEXT_BODY)
    errors = _length(where, "text", node.text, limits.INTERACTIVE_BODY)
    errors += _length(where, "header", node.header, limits.HEADER)
    errors += _length(where, "footer", node.footer, limits.FOOTER)
    if isinstance(node, MenuNode):
        errors += _length(where, "retry", node.retry, limits.INTERACTIVE_BODY)
    if shape == "buttons":
        return errors + _buttons(node.id, where, items)
    errors += _length(where, "button", node.button, limits.LIST_BUTTON)
    return errors + _rows(node.id, where, items)


def _buttons(node_id: str, where: str, items: list[Item]) -> list[str]:
    errors: list[str] = []
    for index, item in enumerate(items):
        errors += _length(where, f"options[{index}].title", item.title, limits.BUTTON_TITLE)
        errors += _length(
            where, f"options[{index}].id", wire_id(node_id, item.key), limits.BUTTON_ID
        )
    return errors


def _rows(node_id: str, where: str, items: list[Item]) -> list[str]:
    errors: list[str] = []
    for index, item in enumerate(items):
        field = f"options[{index}]"
        errors += _length(where, f"{field}.title", item.title, limits.ROW_TITLE)
        errors += _length(where, f"{field}.description", item.description, limits.ROW_DESCRIPTION)
        errors += _length(where, f"{field}.section", item.section, limits.SECTION_TITLE)
        errors += _length(where, f"{field}.id", wire_id(node_id, item.key), limits.ROW_ID)
    return errors
