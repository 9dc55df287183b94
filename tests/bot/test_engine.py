"""Table tests of the pure engine on small flows: every node kind, every validation, every
keyword, the inactivity timeout, business hours and holidays, handoff and the survey."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.engine import (
    ButtonsReply,
    ContactStarted,
    Ended,
    Flow,
    Handoff,
    Input,
    ListReply,
    Location,
    Media,
    Resolved,
    State,
    Step,
    SurveyAnswered,
    SurveyCommented,
    TextReply,
    after_agent_closed,
    no_agent_online,
    step,
)
from bot.replies import reply_text
from tests.support.flows import CHRISTMAS, MONDAY_2PM, MONDAY_NIGHT, make, run

HOURS = {
    "expediente": {
        "description": "de segunda a sexta, das 8h às 17h",
        "week": {"mon-fri": ["08:00-12:00", "13:00-17:00"]},
        "holidays": ["25/12"],
    }
}
NODES: list[dict[str, Any]] = [
    {"id": "inicio", "type": "message", "text": "Olá!", "next": "menu"},
    {
        "id": "menu",
        "type": "menu",
        "text": "Escolha:",
        "save_as": "assunto",
        "label": "Assunto",
        "options": [
            {"id": "horario", "title": "Horário", "goto": "faq", "synonyms": ["que horas"]},
            {"id": "luz", "title": "Iluminação Pública", "goto": "nome", "synonyms": ["poste"]},
            {"id": "pessoa", "title": "Falar com atendente", "goto": "geral"},
        ],
    },
    {"id": "faq", "type": "answer", "text": "Abrimos às 8h.", "topic": "horarios", "next": "menu"},
    {
        "id": "nome",
        "type": "ask",
        "text": "Seu nome?",
        "save_as": "nome",
        "label": "Nome",
        "next": "cpf",
    },
    {
        "id": "cpf",
        "type": "ask",
        "text": "CPF, {nome}?",
        "save_as": "cpf",
        "label": "CPF",
        "validate": "cpf",
        "next": "foto",
    },
    {
        "id": "foto",
        "type": "ask",
        "text": "Foto?",
        "save_as": "foto",
        "label": "Foto",
        "validate": "photo",
        "skippable": True,
        "next": "luz",
    },
    {
        "id": "luz",
        "type": "handoff",
        "department": "Iluminação Pública",
        "priority": "high",
        "tags": ["iluminacao"],
        "carry": ["assunto", "nome", "cpf", "foto"],
        "text": "Transferindo, {nome}.",
        "offline": "queue",
    },
    {"id": "geral", "type": "handoff", "text": "Um momento.", "offline": "leave_message"},
    {
        "id": "urgente",
        "type": "handoff",
        "department": "Urgente",
        "priority": "urgent",
        "tags": ["urgente"],
        "hours": "plantao",
        "offline": "queue",
    },
    {"id": "sair", "type": "end", "text": "Até logo!"},
    {
        "id": "ajuda",
        "type": "menu",
        "text": "Não entendi. Quer falar com alguém?",
        "options": [
            {"id": "sim", "title": "Falar com atendente", "goto": "geral"},
            {"id": "menu", "title": "Voltar ao menu", "goto": "menu"},
        ],
    },
    {
        "id": "pesquisa",
        "type": "survey",
        "text": "Nota?",
        "comment": "Comentário?",
        "thanks": "Valeu!",
        "options": [
            {"score": s, "title": t}
            for s, t in [(5, "Ótimo"), (4, "Bom"), (3, "Regular"), (2, "Ruim"), (1, "Péssimo")]
        ],
    },
]
TOP: dict[str, Any] = {
    "hours": {
        **HOURS,
        "plantao": {"description": "todo dia, 7h às 22h", "week": {"mon-sun": ["07:00-22:00"]}},
    },
    "departments": [
        {"name": "Iluminação Pública", "hours": "expediente"},
        {"name": "Urgente", "id": "dep-urgente"},
    ],
    "settings": {"hours": "expediente", "misses_goto": "ajuda", "max_misses": 3},
    "keywords": [
        {"words": ["urgente", "violência"], "match": "start", "goto": "urgente"},
        {"words": ["menu", "voltar"], "goto": "menu"},
        {"words": ["atendente"], "goto": "geral"},
        {"words": ["sair"], "goto": "sair"},
    ],
    "after_close": {"text": "Atendimento encerrado.", "goto": "pesquisa"},
}


@pytest.fixture(scope="module")
def flow() -> Flow:
    return make(NODES, **TOP)


def said(result: Step) -> list[str]:
    return [reply_text(r) for r in result.replies]


def at(flow: Flow, node: str, when: datetime = MONDAY_2PM, **state: Any) -> State:
    return State(node=node, last_activity=when.timestamp(), **state)


def handoff_of(result: Step) -> Handoff:
    found = [a for a in result.actions if isinstance(a, Handoff)]
    assert len(found) == 1, result.actions
    return found[0]


# ── every node kind ───────────────────────────────────────────────────────────────────────


def test_new_contact_message_then_menu(flow: Flow) -> None:
    first = step(flow, None, Input("oi"), MONDAY_2PM)
    assert first.actions == (ContactStarted(),)
    assert first.replies[0] == TextReply("Olá!")
    menu = first.replies[1]
    assert isinstance(menu, ButtonsReply)
    assert [b.id for b in menu.buttons] == ["menu:horario", "menu:luz", "menu:pessoa"]
    assert first.state.node == "menu" and first.state.last_activity == MONDAY_2PM.timestamp()


@pytest.mark.parametrize(
    "inp",
    [
        Input("Horário", choice_id="menu:horario"),
        Input("1"),
        Input("horário"),
        Input("QUE HORAS"),
        Input("horarioo"),
        Input("1️⃣"),
    ],
)
def test_menu_answer_resolves_and_returns(flow: Flow, inp: Input) -> None:
    result = step(flow, at(flow, "menu"), inp, MONDAY_2PM)
    assert said(result)[0] == "Abrimos às 8h."
    assert Resolved("horarios") in result.actions
    assert result.state.node == "menu" and result.state.answers["assunto"] == "Horário"


def test_menu_miss_reprompts_then_offers_a_person(flow: Flow) -> None:
    steps = run(flow, ["oi", "blá", "xyz", "???"])
    assert said(steps[1])[0].startswith("Desculpe, não entendi.")
    assert isinstance(steps[1].replies[0], ButtonsReply) and steps[1].state.misses == 1
    assert steps[2].state.misses == 2
    assert steps[3].state.node == "ajuda" and said(steps[3])[0].startswith("Não entendi. Quer")


def test_a_tap_on_an_older_menu_still_counts(flow: Flow) -> None:
    result = step(flow, at(flow, "cpf"), Input("Horário", choice_id="menu:horario"), MONDAY_2PM)
    assert Resolved("horarios") in result.actions


def test_ask_store_placeholders_and_handoff(flow: Flow) -> None:
    photo = Media("image", "wamid-photo", "image/jpeg", "poste.jpg")
    steps = run(flow, ["oi", "2", "Maria Souza", "529.982.247-25", Input("poste", media=photo)])
    assert said(steps[2]) == ["CPF, Maria Souza?"]
    handoff = handoff_of(steps[-1])
    assert said(steps[-1]) == ["Transferindo, Maria Souza."]
    assert handoff.department == "Iluminação Pública" and handoff.priority == "high"
    assert handoff.tags == ("iluminacao",) and handoff.offline == "queue"
    assert handoff.fields == {
        "assunto": "Iluminação Pública",
        "nome": "Maria Souza",
        "cpf": "529.982.247-25",
    }
    assert handoff.labels == {"assunto": "Assunto", "nome": "Nome", "cpf": "CPF", "foto": "Foto"}
    assert handoff.attachments == {"foto": photo}
    assert handoff.service == "Iluminação Pública" and not handoff.after_hours
    assert "No momento todos os nossos atendentes" in handoff.offline_text
    assert steps[-1].state.phase == "handed_off"
    lines = handoff.transcript.splitlines()
    assert lines[:3] == [
        "📋 Resumo do atendimento automático (WhatsApp)",
        "Serviço: Iluminação Pública",
        "Prioridade: alta",
    ]
    assert "• CPF: 529.982.247-25" in lines and "• Foto: [anexo: foto] poste.jpg" in lines
    assert "Cidadão: [foto] poste" in lines and "Robô: Transferindo, Maria Souza." in lines


def test_skippable_question(flow: Flow) -> None:
    result = step(flow, at(flow, "foto", answers={"nome": "Ana"}), Input("pular"), MONDAY_2PM)
    assert handoff_of(result).fields["foto"] == "(não informado)"


def test_ask_retry_uses_the_default_text_of_the_validation(flow: Flow) -> None:
    result = step(flow, at(flow, "cpf"), Input("123"), MONDAY_2PM)
    assert said(result) == [flow.messages.invalid["cpf"]] and result.state.node == "cpf"


def test_end_node_and_the_next_contact(flow: Flow) -> None:
    steps = run(flow, ["oi", "sair", "oi de novo"])
    assert said(steps[1]) == ["Até logo!"] and Ended("end", "sair") in steps[1].actions
    assert steps[1].state.node is None
    assert steps[2].actions[0] == ContactStarted() and said(steps[2])[0] == "Olá!"


@pytest.mark.parametrize(
    ("kind", "bad", "good", "stored"),
    [
        ("text", Input(media=Media("image", "m")), Input("Rua A, 10"), "Rua A, 10"),
        ("number", Input("dois"), Input("2"), "2"),
        ("cpf", Input("111.111.111-11"), Input("11144477735"), "111.444.777-35"),
        ("cep", Input("1234"), Input("01310-100"), "01310-100"),
        ("date", Input("32/01/2000"), Input("5/1/2000"), "05/01/2000"),
        ("phone", Input("1234"), Input("(11) 91234-5678"), "(11) 91234-5678"),
        ("email", Input("maria@"), Input("maria@gov.br"), "maria@gov.br"),
        ("yesno", Input("talvez"), Input("Sim", choice_id="q:yes"), "Sim"),
        (
            "file",
            Input("segue"),
            Input(media=Media("document", "d1", "application/pdf", "rg.pdf")),
            "rg.pdf",
        ),
        (
            "photo",
            Input(media=Media("audio", "a1", "audio/ogg")),
            Input(media=Media("image", "i1")),
            "i1",
        ),
        (
            "location",
            Input("na praça"),
            Input(location=Location(-1.5, -48.5, None, "Rua B")),
            "Rua B (https://maps.google.com/?q=-1.500000,-48.500000)",
        ),
    ],
)
def test_every_validation(kind: str, bad: Input, good: Input, stored: str) -> None:
    flow = make(
        [
            {
                "id": "q",
                "type": "ask",
                "text": "Pergunta?",
                "save_as": "r",
                "validate": kind,
                "next": "fim",
            },
            {"id": "fim", "type": "end", "text": "{r}"},
        ]
    )
    asked = step(flow, None, Input("oi"), MONDAY_2PM)
    if kind == "yesno":
        assert isinstance(asked.replies[0], ButtonsReply)
        assert [b.title for b in asked.replies[0].buttons] == ["Sim", "Não"]
    again = step(flow, asked.state, bad, MONDAY_2PM)
    assert said(again)[0].startswith(flow.messages.invalid[kind]) and again.state.node == "q"
    done = step(flow, again.state, good, MONDAY_2PM)
    assert said(done) == [stored] and Ended("end", "fim") in done.actions


def test_ask_gives_up_after_max_tries() -> None:
    flow = make(
        [
            {
                "id": "q",
                "type": "ask",
                "text": "CEP?",
                "save_as": "cep",
                "validate": "cep",
                "max_tries": 2,
                "on_fail": "fim",
                "retry": "De novo:",
                "next": "fim",
            },
            {"id": "fim", "type": "end", "text": "Tchau"},
        ]
    )
    steps = run(flow, ["oi", "x", "y"])
    assert said(steps[1]) == ["De novo:"] and said(steps[2]) == ["Tchau"]


# ── branches on answers, hours and holidays ──────────────────────────────────────────────

BRANCH_NODES: list[dict[str, Any]] = [
    {"id": "q", "type": "ask", "text": "?", "save_as": "r", "next": "b"},
    {
        "id": "b",
        "type": "branch",
        "default": "outro",
        "cases": [
            {"if": {"answer": "r", "equals": "Sim"}, "goto": "sim"},
            {"if": {"answer": "r", "one_of": ["talvez", "não sei"]}, "goto": "duvida"},
            {"if": {"holiday": "expediente"}, "goto": "feriado"},
            {"if": {"open": "expediente"}, "goto": "aberto"},
            {"if": {"closed": "expediente"}, "goto": "fechado"},
        ],
    },
    *(
        {"id": n, "type": "end", "text": n}
        for n in ("sim", "duvida", "feriado", "aberto", "fechado", "outro")
    ),
]


@pytest.mark.parametrize(
    ("answer", "now", "reached"),
    [
        ("SIM", MONDAY_2PM, "sim"),
        ("Nao sei", MONDAY_2PM, "duvida"),
        ("x", CHRISTMAS, "feriado"),
        ("x", MONDAY_2PM, "aberto"),
        ("x", MONDAY_2PM.replace(hour=12, minute=30), "fechado"),  # lunch break
        ("x", MONDAY_NIGHT, "fechado"),
        ("x", datetime(2026, 11, 23, 14, 0), "aberto"),  # naive: flow time zone
    ],
)
def test_branch(answer: str, now: datetime, reached: str) -> None:
    flow = make(BRANCH_NODES, hours=HOURS)
    steps = run(flow, ["oi", answer], now=now)
    assert said(steps[1]) == [reached]


# ── keywords from any node ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("node", "typed", "goes_to"),
    [
        ("cpf", "menu", "menu"),
        ("nome", "Voltar", "menu"),
        ("menu", "atendente", "geral"),
        ("foto", "sair", None),
        ("pesquisa", "MENU", "menu"),
        ("menu", "urgente, meu vizinho", "urgente"),
    ],
)
def test_keywords_work_from_any_node(
    flow: Flow, node: str, typed: str, goes_to: str | None
) -> None:
    result = step(flow, at(flow, node), Input(typed), MONDAY_2PM)
    assert result.state.node == goes_to


def test_urgent_first_message_skips_the_greeting(flow: Flow) -> None:
    result = step(flow, None, Input("Violência em casa, socorro"), MONDAY_NIGHT)
    handoff = handoff_of(result)
    assert result.actions[0] == ContactStarted() and not said(result)
    assert handoff.priority == "urgent" and handoff.department_id == "dep-urgente"
    assert handoff.transcript.startswith("🚨 *URGENTE*")


def test_a_tap_is_not_read_as_a_keyword(flow: Flow) -> None:
    result = step(flow, at(flow, "ajuda"), Input("atendente", choice_id="ajuda:menu"), MONDAY_2PM)
    assert result.state.node == "menu"


# ── inactivity timeout ────────────────────────────────────────────────────────────────────


def test_timeout_starts_over_with_a_notice(flow: Flow) -> None:
    state = at(flow, "cpf", answers={"nome": "Ana"})
    later = MONDAY_2PM + timedelta(minutes=31)
    result = step(flow, state, Input("529.982.247-25"), later)
    assert result.actions[:2] == (Ended("timeout"), ContactStarted())
    assert said(result)[:2] == [flow.messages.timeout, "Olá!"]
    assert result.state.node == "menu" and result.state.answers == {}


def test_no_timeout_within_the_limit(flow: Flow) -> None:
    result = step(
        flow, at(flow, "cpf"), Input("529.982.247-25"), MONDAY_2PM + timedelta(minutes=29)
    )
    assert result.state.node == "foto"


def test_timeout_then_keyword(flow: Flow) -> None:
    result = step(flow, at(flow, "cpf"), Input("atendente"), MONDAY_2PM + timedelta(hours=2))
    assert result.actions[:2] == (Ended("timeout"), ContactStarted())
    assert isinstance(result.actions[2], Handoff)


# ── business hours at handoff ─────────────────────────────────────────────────────────────


def test_closed_with_queue_policy_hands_off_after_hours(flow: Flow) -> None:
    state = at(flow, "foto", MONDAY_NIGHT, answers={"nome": "Ana"})
    result = step(flow, state, Input("pular"), MONDAY_NIGHT)
    text = said(result)[0]
    assert text.startswith("No momento estamos fora do horário") and "das 8h às 17h" in text
    assert handoff_of(result).after_hours


def test_closed_with_leave_message_policy(flow: Flow) -> None:
    asked = step(flow, at(flow, "menu", CHRISTMAS), Input("3"), CHRISTMAS)
    assert "escreva agora sua mensagem" in said(asked)[0] and asked.state.phase == "leave_message"
    assert not any(isinstance(a, Handoff) for a in asked.actions)
    left = step(flow, asked.state, Input("Buraco na rua", media=Media("image", "i9")), CHRISTMAS)
    handoff = handoff_of(left)
    assert said(left) == [flow.messages.offline.message_received]
    assert handoff.after_hours and handoff.fields == {"assunto": "Falar com atendente"}
    assert handoff.attachments == {"offline_message": Media("image", "i9")}
    assert "• Recado deixado fora do horário: [anexo: foto] Buraco na rua" in handoff.transcript
    text_only = step(flow, asked.state, Input("Buraco na rua"), CHRISTMAS)
    assert handoff_of(text_only).fields["offline_message"] == "Buraco na rua"


def test_a_message_left_late_is_still_delivered(flow: Flow) -> None:
    waiting = at(flow, "geral", CHRISTMAS, phase="leave_message")
    result = step(flow, waiting, Input("Bom dia"), CHRISTMAS + timedelta(hours=20))
    assert handoff_of(result).fields["offline_message"] == "Bom dia"


@pytest.mark.parametrize(
    ("offline", "extra", "reason", "node"),
    [
        ("tell_hours", {}, Ended("out_of_hours"), None),
        ("tell_hours", {"offline_goto": "outro"}, None, "outro"),
    ],
)
def test_closed_with_tell_hours(
    offline: str, extra: dict[str, Any], reason: Ended | None, node: str | None
) -> None:
    flow = make(
        [
            {"id": "h", "type": "handoff", "hours": "expediente", "offline": offline, **extra},
            {"id": "outro", "type": "ask", "text": "Algo mais?", "save_as": "x", "next": "h"},
        ],
        hours=HOURS,
    )
    result = step(flow, None, Input("oi"), MONDAY_NIGHT)
    assert "Nosso horário de atendimento é de segunda a sexta" in said(result)[0]
    assert not any(isinstance(a, Handoff) for a in result.actions)
    assert (reason in result.actions) if reason else True
    assert result.state.node == node


def test_flow_is_open_and_no_agent_text(flow: Flow) -> None:
    assert flow.is_open("Iluminação Pública", MONDAY_2PM)
    assert not flow.is_open("Iluminação Pública", MONDAY_NIGHT)
    assert flow.is_open("plantao", MONDAY_NIGHT)
    assert not flow.is_open("expediente", CHRISTMAS)
    assert not flow.is_open("dep-urgente", MONDAY_NIGHT)  # no own hours: the default ones
    assert flow.no_agent_text("Iluminação Pública", "queue").startswith("No momento todos")
    assert "de segunda a sexta" in flow.no_agent_text("Iluminação Pública")


# ── Rocket.Chat had no agent online ───────────────────────────────────────────────────────


def handed_off(flow: Flow, node: str) -> State:
    return at(flow, node, phase="handed_off", answers={"nome": "Ana"})


def test_no_agent_leave_message(flow: Flow) -> None:
    refused = no_agent_online(flow, handed_off(flow, "geral"), MONDAY_2PM)
    assert said(refused)[0].startswith("No momento todos os nossos atendentes")
    assert refused.state.phase == "leave_message"
    left = step(flow, refused.state, Input("Quero um alvará"), MONDAY_2PM)
    assert handoff_of(left).after_hours


def test_no_agent_queue_keeps_the_room(flow: Flow) -> None:
    refused = no_agent_online(flow, handed_off(flow, "luz"), MONDAY_2PM)
    assert "está na fila" in said(refused)[0] and refused.state.phase == "handed_off"
    assert refused.actions == ()


def test_no_agent_tell_hours_ends() -> None:
    flow = make([{"id": "h", "type": "handoff", "offline": "tell_hours"}])
    refused = no_agent_online(flow, State(node="h", phase="handed_off"), MONDAY_2PM)
    assert refused.actions == (Ended("no_agent"),) and refused.state.node is None


def test_no_agent_outside_a_handoff_does_nothing(flow: Flow) -> None:
    state = at(flow, "menu")
    assert no_agent_online(flow, state, MONDAY_2PM) == Step((), state)


# ── after the agent closes: closing message and survey ──────────────────────────────────


def closed(flow: Flow) -> Step:
    return after_agent_closed(flow, handed_off(flow, "luz"), MONDAY_2PM)


def test_after_close_asks_the_survey(flow: Flow) -> None:
    result = closed(flow)
    assert said(result)[0] == "Atendimento encerrado."
    survey = result.replies[1]
    assert isinstance(survey, ListReply)
    assert [r.id for r in survey.sections[0].rows][:2] == ["pesquisa:5", "pesquisa:4"]
    assert result.state.node == "pesquisa" and result.state.phase == ""


@pytest.mark.parametrize(
    ("score_input", "comment_input", "score", "comment"),
    [
        (
            Input("Ótimo", choice_id="pesquisa:5"),
            Input("Muito atencioso"),
            5,
            (SurveyCommented("Muito atencioso"),),
        ),
        (Input("2"), Input("pular"), 2, ()),  # typed digit is the score
        (Input("regular"), Input("não"), 3, ()),
        (Input("pessimo"), Input(media=Media("audio", "a1")), 1, ()),
    ],
)
def test_survey(
    flow: Flow,
    score_input: Input,
    comment_input: Input,
    score: int,
    comment: tuple[SurveyCommented, ...],
) -> None:
    scored = step(flow, closed(flow).state, score_input, MONDAY_2PM)
    assert said(scored) == ["Comentário?"] and scored.actions == (SurveyAnswered(score),)
    done = step(flow, scored.state, comment_input, MONDAY_2PM)
    assert done.actions == (*comment, Ended("end", "pesquisa"))
    assert said(done) == ["Valeu!"] and done.state.node is None


@pytest.mark.parametrize(
    "sentence", ["Bom dia, preciso de outra coisa", "não foi bom", "nada bom", "não foi ruim"]
)
def test_a_sentence_is_no_rating(flow: Flow, sentence: str) -> None:
    """Only a tap, a score or an option's own words rate: a greeting or a negation that
    contains one is asked again, not recorded as that score."""
    result = step(flow, closed(flow).state, Input(sentence), MONDAY_2PM)
    assert result.actions == () and said(result)[0].startswith(flow.messages.survey_retry)


def test_after_a_close_outside_the_window_nothing_is_said_and_nothing_awaited(
    flow: Flow,
) -> None:
    quiet = after_agent_closed(flow, None, MONDAY_2PM, reachable=False)
    assert quiet.replies == () and quiet.state.node is None


def test_survey_waits_longer_than_the_inactivity_timeout(flow: Flow) -> None:
    result = step(flow, closed(flow).state, Input("5"), MONDAY_2PM + timedelta(hours=5))
    assert result.state.phase == "comment"


def test_survey_score_is_kept_when_the_citizen_moves_on(flow: Flow) -> None:
    scored = step(flow, closed(flow).state, Input("4"), MONDAY_2PM)
    assert scored.actions == (SurveyAnswered(4),)  # counted even if nobody writes again
    result = step(flow, scored.state, Input("menu"), MONDAY_2PM)
    assert result.actions == () and result.state.node == "menu"  # no comment, no second score
    late = step(flow, scored.state, Input("oi"), MONDAY_2PM + timedelta(days=2))
    assert late.actions[:2] == (Ended("timeout"), ContactStarted())


def test_survey_ignored_twice_starts_a_new_contact(flow: Flow) -> None:
    once = step(flow, closed(flow).state, Input("tenho outra dúvida"), MONDAY_2PM)
    assert said(once)[0].startswith(flow.messages.survey_retry)
    assert once.state.node == "pesquisa"
    twice = step(flow, once.state, Input("sobre o IPTU"), MONDAY_2PM)
    assert twice.actions == (ContactStarted(),) and said(twice)[0] == "Olá!"


def test_survey_without_comment_emits_at_once() -> None:
    flow = make(
        [
            {
                "id": "s",
                "type": "survey",
                "text": "Nota?",
                "next": "fim",
                "options": [{"score": 1, "title": "Ruim"}, {"score": 2, "title": "Bom"}],
            },
            {"id": "fim", "type": "end"},
        ],
        after_close={"goto": "s"},
    )
    asked = after_agent_closed(flow, None, MONDAY_2PM)
    assert isinstance(asked.replies[0], ButtonsReply)
    result = step(flow, asked.state, Input("Bom", choice_id="s:2"), MONDAY_2PM)
    assert result.actions == (SurveyAnswered(2), Ended("end", "fim"))


# ── long menus, robustness ────────────────────────────────────────────────────────────────


def test_long_menu_pages_and_global_numbers() -> None:
    options = [{"id": f"o{i}", "title": f"Serviço {i}", "goto": f"r{i}"} for i in range(1, 13)]
    answers = [{"id": f"r{i}", "type": "end", "text": f"Resposta {i}"} for i in range(1, 13)]
    flow = make([{"id": "m", "type": "menu", "text": "Escolha:", "options": options}, *answers])
    first = step(flow, None, Input("oi"), MONDAY_2PM)
    more = step(flow, first.state, Input("Mais opções", choice_id="m:#more:9"), MONDAY_2PM)
    rows = [r.title for s in more.replies[0].sections for r in s.rows]  # type: ignore[union-attr]
    assert rows == ["Serviço 10", "Serviço 11", "Serviço 12", "Mais opções"]
    assert more.state.offset == 9
    typed = step(flow, more.state, Input("mais opções"), MONDAY_2PM)
    assert typed.state.offset == 0
    assert said(step(flow, more.state, Input("12"), MONDAY_2PM)) == ["Resposta 12"]


def test_state_from_an_older_flow_starts_over(flow: Flow) -> None:
    result = step(flow, at(flow, "removed_node"), Input("oi"), MONDAY_2PM)
    assert result.actions == (ContactStarted(),) and said(result)[0] == "Olá!"


def test_a_handed_off_state_is_a_finished_bot_conversation(flow: Flow) -> None:
    result = step(flow, handed_off(flow, "luz"), Input("oi"), MONDAY_2PM)
    assert result.actions == (ContactStarted(),)


def test_history_is_bounded_and_ordered() -> None:
    flow = make(
        [
            {
                "id": "q",
                "type": "ask",
                "text": "?",
                "save_as": "r",
                "validate": "number",
                "next": "q",
            }
        ],
        settings={"history": 3},
    )
    steps = run(flow, ["oi", "a", "b"])
    assert [(e.author, e.text) for e in steps[-1].state.history] == [
        ("bot", flow.messages.invalid["number"]),
        ("citizen", "b"),
        ("bot", flow.messages.invalid["number"]),
    ]


def test_engine_is_deterministic(flow: Flow) -> None:
    assert run(flow, ["oi", "2", "Ana"]) == run(flow, ["oi", "2", "Ana"])


def test_a_score_waiting_in_a_state_saved_by_the_earlier_release_is_recorded(flow: Flow) -> None:
    """Before scores were recorded at once, a state waiting for the comment held the score
    alone: after the upgrade it is recorded ahead of its comment, or when the wait ends."""
    waiting = replace(closed(flow).state, node="pesquisa", phase="comment", survey_score=4)
    done = step(flow, waiting, Input("Gostei"), MONDAY_2PM)
    assert done.actions[:2] == (SurveyAnswered(4), SurveyCommented("Gostei"))
    moved_on = step(flow, waiting, Input("menu"), MONDAY_2PM)
    assert moved_on.actions == (SurveyAnswered(4),)
