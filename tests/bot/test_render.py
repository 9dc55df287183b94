from __future__ import annotations

from typing import Any

import pytest

from bot import limits
from bot.engine import ButtonsReply, ListReply, TextReply
from bot.model import MenuNode
from bot.render import layout, render_menu
from tests.support.flows import make


def menu(count: int, display: str = "auto", described: bool = False) -> dict[str, Any]:
    options = [{"title": f"Opção {i}", "goto": "fim", "id": f"o{i}"} for i in range(1, count + 1)]
    if described:
        for option in options:
            option["description"] = "Uma descrição"
    return {
        "id": "m",
        "type": "menu",
        "text": "Escolha:",
        "options": options,
        "display": display,
        "header": "Prefeitura",
        "footer": "Digite menu para voltar",
    }


def rendered(count: int, display: str = "auto", described: bool = False, offset: int = 0) -> Any:
    flow = make([menu(count, display, described), {"id": "fim", "type": "end"}])
    node = flow.nodes["m"]
    assert isinstance(node, MenuNode)
    return render_menu(node, "Escolha:", flow.messages, offset)


@pytest.mark.parametrize(
    ("display", "count", "described", "shape"),
    [
        ("auto", 1, False, "buttons"),
        ("auto", 3, False, "buttons"),
        ("auto", 3, True, "list"),
        ("auto", 4, False, "list"),
        ("auto", 10, False, "list"),
        ("auto", 11, False, "pages"),
        ("list", 2, False, "list"),
        ("buttons", 3, True, "buttons"),
        ("text", 2, False, "text"),
    ],
)
def test_layout(display: str, count: int, described: bool, shape: str) -> None:
    assert layout(display, count, described) == shape  # type: ignore[arg-type]


def test_three_options_are_buttons_with_node_scoped_ids() -> None:
    reply = rendered(3)
    assert isinstance(reply, ButtonsReply)
    assert [(b.id, b.title) for b in reply.buttons] == [
        ("m:o1", "Opção 1"),
        ("m:o2", "Opção 2"),
        ("m:o3", "Opção 3"),
    ]
    assert (reply.header, reply.footer, reply.body) == (
        "Prefeitura",
        "Digite menu para voltar",
        "Escolha:",
    )


def test_ten_options_are_one_list() -> None:
    reply = rendered(10, described=True)
    assert isinstance(reply, ListReply)
    rows = [r for s in reply.sections for r in s.rows]
    assert len(rows) == 10 and rows[0].description == "Uma descrição"
    assert reply.button == "Ver opções" and reply.sections[0].title == "Opções"


def test_more_than_ten_are_pages_with_a_more_row_that_wraps() -> None:
    first = rendered(12)
    rows = [r for s in first.sections for r in s.rows]
    assert len(rows) == limits.LIST_ROWS_MAX
    assert rows[-1].title == "Mais opções" and rows[-1].id == "m:#more:9"
    last = rendered(12, offset=9)
    rows = [r for s in last.sections for r in s.rows]
    assert [r.title for r in rows] == ["Opção 10", "Opção 11", "Opção 12", "Mais opções"]
    assert rows[-1].id == "m:#more:0"


def test_numbered_text() -> None:
    reply = rendered(2, display="text", described=True)
    assert isinstance(reply, TextReply)
    assert reply.text == (
        "*Prefeitura*\n\nEscolha:\n\n*1.* Opção 1 — Uma descrição\n"
        "*2.* Opção 2 — Uma descrição\n\n_Digite menu para voltar_"
    )


def test_sections_group_consecutive_options() -> None:
    node = menu(4)
    sections = ["Social", "Social", "Obras", "Obras"]
    for option, section in zip(node["options"], sections, strict=True):
        option["section"] = section
    flow = make([node, {"id": "fim", "type": "end"}])
    reply = render_menu(flow.nodes["m"], "x", flow.messages)  # type: ignore[arg-type]
    assert [(s.title, len(s.rows)) for s in reply.sections] == [("Social", 2), ("Obras", 2)]  # type: ignore[union-attr]


def test_clip_marks_the_cut() -> None:
    assert limits.clip("abcdef", 4) == "abc…"
    assert limits.clip("abc", 4) == "abc"
