"""Every way a flow file can be refused, each error naming the node (or section) and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import FlowError
from bot.flow import flow_from_data, load_flow, parse_flow
from tests.support.flows import MESSAGES_YAML, base, errors, make

END = {"id": "fim", "type": "end"}


def menu(**extra: Any) -> dict[str, Any]:
    node = {
        "id": "menu_principal",
        "type": "menu",
        "text": "Escolha:",
        "options": [{"title": "Sim", "goto": "fim"}],
    }
    node.update(extra)
    return node


def one(data: dict[str, Any]) -> str:
    found = errors(data)
    assert len(found) == 1, found
    return found[0]


def test_a_good_minimal_flow_loads() -> None:
    flow = make([menu(), END])
    assert flow.start == "menu_principal" and flow.warnings == ()


def test_missing_node_reference_suggests_the_closest_id() -> None:
    data = base([menu(options=[{"title": "Sim", "goto": "fin"}]), END])
    assert one(data) == (
        "node 'menu_principal', field 'options[0].goto': no node named 'fin' (did you mean 'fim'?)"
    )


@pytest.mark.parametrize(
    ("node", "field"),
    [
        ({"id": "a", "type": "message", "text": "x", "next": "nowhere"}, "next"),
        ({"id": "a", "type": "answer", "text": "x", "next": "nowhere"}, "next"),
        (
            {
                "id": "a",
                "type": "ask",
                "text": "x",
                "save_as": "n",
                "next": "fim",
                "on_fail": "nowhere",
            },
            "on_fail",
        ),
        (
            {
                "id": "a",
                "type": "branch",
                "cases": [{"if": {"answer": "x"}, "goto": "nowhere"}],
                "default": "fim",
            },
            "cases[0].goto",
        ),
        (
            {
                "id": "a",
                "type": "branch",
                "cases": [{"if": {"open": "h"}, "goto": "fim"}],
                "default": "nowhere",
            },
            "default",
        ),
        ({"id": "a", "type": "handoff", "offline_goto": "nowhere"}, "offline_goto"),
        (
            {
                "id": "a",
                "type": "survey",
                "text": "x",
                "options": [{"score": 1, "title": "Ruim"}],
                "next": "nowhere",
            },
            "next",
        ),
    ],
)
def test_every_link_is_checked(node: dict[str, Any], field: str) -> None:
    hours = {"h": {"description": "x", "week": {"mon": ["08:00-12:00"]}}}
    data = base([node, END], hours=hours)
    if node["type"] == "branch" and "answer" in str(node):
        data["nodes"].append({"id": "q", "type": "ask", "text": "?", "save_as": "x", "next": "fim"})
    found = [e for e in errors(data) if "nowhere" in e]
    assert found == [f"node 'a', field '{field}': no node named 'nowhere'"]


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ({"start": "inicio"}, "flow, field 'start': no node named 'inicio'"),
        (
            {"keywords": [{"words": ["menu"], "goto": "menuu"}]},
            "keywords[0], field 'goto': no node named 'menuu'",
        ),
        (
            {"settings": {"misses_goto": "ajuda"}},
            "settings, field 'misses_goto': no node named 'ajuda'",
        ),
        (
            {"after_close": {"goto": "pesquisa"}},
            "after_close, field 'goto': no node named 'pesquisa'",
        ),
    ],
)
def test_flow_level_links(top: dict[str, Any], message: str) -> None:
    assert one(base([menu(), END], **top)).startswith(message)


def test_duplicate_node_id() -> None:
    data = base([menu(), END, {"id": "fim", "type": "end", "text": "tchau"}])
    assert one(data) == "node 'fim', field 'id': duplicate id (nodes[2] and nodes[1])"


def test_option_over_whatsapp_button_limit() -> None:
    options = [
        {"title": "Sim", "goto": "fim", "id": "a"},
        {"title": "Não", "goto": "fim", "id": "b"},
        {"title": "Talvez", "goto": "fim", "id": "c"},
        {"title": "Falar com um atendente", "goto": "fim", "id": "d"},
    ]
    data = base([menu(options=options[1:]), END])
    assert one(data) == (
        "node 'menu_principal', field 'options[2].title': 22 characters, WhatsApp allows at most 20"
    )


@pytest.mark.parametrize(
    ("option", "field", "size", "limit"),
    [
        ({"title": "x" * 25}, "title", 25, 24),
        ({"title": "ok", "description": "d" * 73}, "description", 73, 72),
        ({"title": "ok", "section": "s" * 25}, "section", 25, 24),
        ({"title": "ok", "id": "i" * 200}, "id", len("menu_principal:") + 200, 200),
    ],
)
def test_list_row_limits(option: dict[str, Any], field: str, size: int, limit: int) -> None:
    options = [{"title": f"Opção {i}", "goto": "fim", "id": f"o{i}"} for i in range(4)]
    options[3] = {"goto": "fim", **option}
    assert one(base([menu(options=options), END])) == (
        f"node 'menu_principal', field 'options[3].{field}': {size} characters, "
        f"WhatsApp allows at most {limit}"
    )


@pytest.mark.parametrize(
    ("extra", "field", "limit"),
    [
        ({"text": "t" * 1025}, "text", 1024),
        ({"header": "h" * 61}, "header", 60),
        ({"footer": "f" * 61}, "footer", 60),
        ({"retry": "r" * 1025}, "retry", 1024),
    ],
)
def test_interactive_text_limits(extra: dict[str, Any], field: str, limit: int) -> None:
    assert one(base([menu(**extra), END])).startswith(
        f"node 'menu_principal', field '{field}': {limit + 1} characters, WhatsApp allows at most"
    )


def test_list_button_limit() -> None:
    options = [{"title": f"Opção {i}", "goto": "fim", "id": f"o{i}"} for i in range(4)]
    assert one(base([menu(options=options, button="b" * 21), END])) == (
        "node 'menu_principal', field 'button': 21 characters, WhatsApp allows at most 20"
    )


def test_text_message_limit_and_messages_section_limits() -> None:
    data = base([{"id": "a", "type": "message", "text": "x" * 4097, "next": "fim"}, END])
    data["messages"]["more_options"] = "Veja mais opções disponíveis"
    assert errors(data) == [
        "messages, field 'more_options': 28 characters, WhatsApp allows at most 24",
        "node 'a', field 'text': 4097 characters, WhatsApp allows at most 4096",
    ]


def test_forced_buttons_with_too_many_options() -> None:
    options = [{"title": f"Opção {i}", "goto": "fim", "id": f"o{i}"} for i in range(4)]
    assert one(base([menu(options=options, display="buttons"), END])) == (
        "node 'menu_principal', field 'display': reply buttons allow at most 3 options, "
        "this menu has 4 (use 'auto' or 'list')"
    )


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (
            {"week": {"mon": ["08:00-12:00"]}, "description": "x", "timezone": "Brasil/Brasilia"},
            "hours 'expediente', field 'timezone': unknown time zone 'Brasil/Brasilia'",
        ),
        (
            {"week": {"seg": ["08:00-12:00"]}, "description": "x"},
            "hours 'expediente', field 'week.seg': unknown day 'seg'",
        ),
        (
            {"week": {"mon": ["08:00 - 17:00", "12:00-13:00"]}, "description": "x"},
            "hours 'expediente', field 'week.mon[1]': '12:00-13:00' overlaps '08:00-17:00'",
        ),
        (
            {"week": {"mon": ["17:00-08:00"]}, "description": "x"},
            "hours 'expediente', field 'week.mon[0]': '17:00-08:00' ends before it starts",
        ),
        (
            {"week": {}, "description": "x", "holidays": ["30/02/2026"]},
            "hours 'expediente', field 'holidays[0]': '30/02/2026' is not a valid date",
        ),
        ({"week": {}}, "hours 'expediente', field 'description': required but missing"),
    ],
)
def test_invalid_hours_spec(hours: dict[str, Any], message: str) -> None:
    assert one(base([menu(), END], hours={"expediente": hours})).startswith(message)


def test_unknown_hours_and_departments() -> None:
    handoff = {"id": "h", "type": "handoff", "department": "Iluminacao", "hours": "expedinte"}
    branch = {
        "id": "b",
        "type": "branch",
        "cases": [{"if": {"open": "plantao"}, "goto": "h"}],
        "default": "h",
    }
    data = base(
        [branch, handoff, END],
        hours={"expediente": {"description": "x", "week": {}}},
        departments=[{"name": "Iluminação Pública", "hours": "expediente"}],
        settings={"hours": "geral", "timezone": "America/Manaus"},
    )
    assert errors(data) == [
        "settings, field 'hours': no hours named 'geral'",
        "node 'b', field 'cases[0].if.open': no hours named 'plantao'",
        "node 'h', field 'hours': no hours named 'expedinte' (did you mean 'expediente'?)",
        "node 'h', field 'department': 'Iluminacao' is not in 'departments' "
        "(did you mean 'Iluminação Pública'?)",
    ]


def test_branch_on_a_department_uses_its_hours() -> None:
    branch = {
        "id": "b",
        "type": "branch",
        "cases": [{"if": {"open": "Iluminação Pública"}, "goto": "fim"}],
        "default": "fim",
    }
    make(
        [branch, END],
        hours={"expediente": {"description": "x", "week": {}}},
        departments=[{"name": "Iluminação Pública", "hours": "expediente"}],
    )


def test_unknown_answers_in_carry_conditions_and_placeholders() -> None:
    nodes = [
        {"id": "q", "type": "ask", "text": "Nome?", "save_as": "nome", "next": "b"},
        {
            "id": "b",
            "type": "branch",
            "cases": [{"if": {"answer": "nomee"}, "goto": "h"}],
            "default": "h",
        },
        {"id": "h", "type": "handoff", "carry": ["nome", "cpf"], "text": "Até logo, {nom}!"},
    ]
    assert errors(base(nodes)) == [
        "node 'b', field 'cases[0].if.answer': no question saves an answer named 'nomee' "
        "(did you mean 'nome'?)",
        "node 'h', field 'carry[1]': no question saves an answer named 'cpf'",
        "node 'h', field 'text': unknown placeholder {nom} (did you mean 'nome'?)",
    ]


def test_builtin_placeholders_only_where_they_mean_something() -> None:
    ok = {"id": "h", "type": "handoff", "text": "{department}: {hours}"}
    make([ok])
    bad = {"id": "m", "type": "message", "text": "Horário: {hours}", "next": "h"}
    assert one(base([bad, ok])) == "node 'm', field 'text': unknown placeholder {hours}"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({}, "use exactly one of open, closed, holiday, answer"),
        ({"open": "h", "answer": "x"}, "use exactly one of open, closed, holiday, answer"),
        ({"open": "h", "equals": "sim"}, "equals and one_of only go with answer"),
        ({"answer": "x", "equals": "sim", "one_of": ["a"]}, "use equals or one_of, not both"),
    ],
)
def test_bad_conditions(when: dict[str, Any], message: str) -> None:
    nodes = [
        {"id": "q", "type": "ask", "text": "?", "save_as": "x", "next": "b"},
        {"id": "b", "type": "branch", "cases": [{"if": when, "goto": "fim"}], "default": "fim"},
        END,
    ]
    data = base(nodes, hours={"h": {"description": "x", "week": {}}})
    assert one(data) == f"node 'b', field 'cases[0].if': {message}"


def test_loop_without_a_question() -> None:
    nodes = [
        {"id": "a", "type": "message", "text": "A", "next": "b"},
        {"id": "b", "type": "answer", "text": "B", "next": "a"},
    ]
    assert one(base(nodes)) == (
        "node 'a', field 'next': these nodes loop without waiting for the citizen: a -> b -> a"
    )


def test_a_loop_through_a_handoffs_offline_goto() -> None:
    """Out of hours a handoff that tells the hours moves on by itself: one citizen
    message would otherwise send the loop's texts a hundred times."""
    nodes = [
        {"id": "falar", "type": "handoff", "text": "Transferindo", "offline_goto": "aviso"},
        {"id": "aviso", "type": "message", "text": "Tente mais tarde", "next": "falar"},
    ]
    assert one(base(nodes)) == (
        "node 'falar', field 'offline_goto': these nodes loop without waiting for the "
        "citizen: falar -> aviso -> falar"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            [{"title": "Sim", "goto": "fim"}, {"title": "Não", "goto": "fim"}],
            "node 'menu_principal', field 'options[1].id': 'fim' is also used by options[0] "
            "(give each option its own id)",
        ),
        (
            [
                {"title": "Sim", "goto": "fim", "id": "a"},
                {"title": "SIM!", "goto": "fim", "id": "b"},
            ],
            "node 'menu_principal', field 'options[1].title': 'SIM!' also names options[0], "
            "so a citizen typing it would be ambiguous",
        ),
        (
            [
                {"title": "Sim", "goto": "fim", "id": "a"},
                {"title": "Não", "goto": "fim", "id": "b", "synonyms": ["sim"]},
            ],
            "node 'menu_principal', field 'options[1].synonyms[0]': 'sim' also names options[0], "
            "so a citizen typing it would be ambiguous",
        ),
        (
            [{"title": "Sim", "goto": "fim", "id": "um dois"}],
            "node 'menu_principal', field 'options[0].id': "
            "use only letters, digits, '_', '-' and '.'",
        ),
    ],
)
def test_option_clashes(options: list[dict[str, Any]], message: str) -> None:
    assert one(base([menu(options=options), END])) == message


def test_survey_scores_must_differ() -> None:
    survey = {
        "id": "s",
        "type": "survey",
        "text": "Nota?",
        "options": [{"score": 5, "title": "Ótimo"}, {"score": 5, "title": "Bom"}],
    }
    assert one(base([survey])) == (
        "node 's', field 'options[1].score': '5' is also used by "
        "options[0] (give each option its own score)"
    )


def test_names_and_keywords() -> None:
    nodes = [
        {"id": "menu principal", "type": "ask", "text": "?", "save_as": "1nome", "next": "x"},
        {"id": "x", "type": "ask", "text": "?", "save_as": "offline_message", "next": "fim"},
        END,
    ]
    keywords = [{"words": ["menu"], "goto": "fim"}, {"words": ["MENU", "!!"], "goto": "fim"}]
    assert errors(base(nodes, keywords=keywords)) == [
        "node 'menu principal', field 'id': use only letters, digits, '_', '-' and '.' "
        "(no spaces or accents)",
        "node 'menu principal', field 'save_as': '1nome' must be a simple name (letters, digits "
        "and '_', not starting with a digit)",
        "node 'x', field 'save_as': 'offline_message' is reserved for out-of-hours messages",
        "keywords[1], field 'words[0]': 'MENU' is also in keywords[0]",
        "keywords[1], field 'words[1]': '!!' has no letters or digits",
    ]


def test_departments_listed_twice() -> None:
    data = base([menu(), END], departments=[{"name": "Urgente"}, {"name": "Urgente"}])
    assert one(data) == "departments[1], field 'name': 'Urgente' is listed twice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["nodes"][0].update(optoins=[]),
            "node 'menu_principal', field 'optoins': unknown field (did you mean 'options'?)",
        ),
        (
            lambda d: d["nodes"][0].update(type="menuu"),
            "node 'menu_principal', field 'type': unknown node type 'menuu' "
            "(expected one of message, "
            "menu, answer, ask, branch, handoff, end, survey)",
        ),
        (
            lambda d: d["nodes"][0].pop("type"),
            "node 'menu_principal', field 'type': missing 'type' (one of message, menu",
        ),
        (
            lambda d: d["nodes"][0].pop("text"),
            "node 'menu_principal', field 'text': required but missing",
        ),
        (
            lambda d: d["nodes"][0].update(options=[]),
            "node 'menu_principal', field 'options': List should have at least 1 item",
        ),
        (
            lambda d: d["nodes"][1].update(
                type="ask", text="?", save_as="x", next="fim", validate="cnpj"
            ),
            "node 'fim', field 'validate': 'cnpj' is not allowed (expected 'text', 'number', 'cpf'",
        ),
        (
            lambda d: d["nodes"][1].update(type="handoff", priority="máxima"),
            "node 'fim', field 'priority': 'máxima' is not allowed",
        ),
        (lambda d: d["messages"].pop("timeout"), "messages, field 'timeout': required but missing"),
        (
            lambda d: d["messages"]["invalid"].pop("cpf"),
            "messages, field 'invalid.cpf': required but missing",
        ),
        (
            lambda d: d.update(settings={"fuzzy_threshold": 20}),
            "settings, field 'fuzzy_threshold': Input should be greater than or equal to 50",
        ),
        (
            lambda d: d.update(keywords=[{"words": ["x"], "goto": "fim", "match": "regex"}]),
            "keywords[0], field 'match': 'regex' is not allowed",
        ),
        (
            lambda d: d.update(strat="menu_principal"),
            "flow, field 'strat': unknown field (did you mean 'start'?)",
        ),
        (lambda d: d["nodes"].append("fim"), "nodes[2]: "),
    ],
)
def test_schema_errors_are_translated(change: Any, message: str) -> None:
    data = base([menu(), dict(END)])
    change(data)
    found = errors(data)
    assert any(e.startswith(message) for e in found), found


def test_yaml_problems(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow("start: a\nstart: b\n", "flow.yaml")
    assert caught.value.errors == [
        "flow.yaml, line 2, column 1: invalid YAML: duplicate key 'start' (first at line 1)"
    ]
    with pytest.raises(FlowError, match=r"flow.yaml, line \d+, column \d+: invalid YAML"):
        parse_flow("nodes:\n  - [unclosed\n", "flow.yaml")
    with pytest.raises(FlowError, match="must be a mapping"):
        parse_flow("- just a list\n")
    with pytest.raises(FlowError, match="cannot read the file"):
        load_flow(tmp_path / "missing.yaml")


def test_yaml_1_1_surprises_are_gone() -> None:
    # `no`, `sim` and `13:00` stay text (YAML 1.1 would give False, and the number 780).
    text = MESSAGES_YAML + (
        "start: q\n"
        "nodes:\n"
        "  - {id: q, type: menu, text: 'ok', options: [{title: no, goto: f, synonyms: [sim]}]}\n"
        "  - {id: f, type: end, text: 13:00}\n"
    )
    flow = parse_flow(text)
    assert flow.nodes["f"].text == "13:00"  # type: ignore[union-attr]
    assert flow.nodes["q"].options[0].title == "no"  # type: ignore[union-attr]


def test_warnings_for_unreachable_nodes_and_hidden_descriptions() -> None:
    node = menu(display="buttons", options=[{"title": "Sim", "goto": "fim", "description": "d"}])
    flow = make([node, END, {"id": "orfao", "type": "end"}])
    assert flow.warnings == (
        "node 'orfao': never reached from start, keywords, settings or after_close",
        "node 'menu_principal', field 'display': buttons do not show descriptions",
    )


def test_all_errors_at_once() -> None:
    data = base([menu(options=[{"title": "x" * 21, "goto": "nada"}]), END])
    data["start"] = "comeco"
    with pytest.raises(FlowError) as caught:
        flow_from_data(data)
    assert len(caught.value.errors) == 3
    assert str(caught.value).count("\n") == 2
