"""The shipped config/flow.yaml, driven as a citizen of the 156 line would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine import (
    ContactStarted,
    Ended,
    Flow,
    Handoff,
    Input,
    ListReply,
    Media,
    Resolved,
    SurveyAnswered,
    SurveyCommented,
    TextReply,
    after_agent_closed,
    step,
)
from bot.replies import reply_text
from tests.support.flows import CHRISTMAS, MONDAY_2PM, MONDAY_NIGHT, run

VALID_CPF = "529.982.247-25"


def handoffs(steps: list) -> list[Handoff]:  # type: ignore[type-arg]
    return [a for s in steps for a in s.actions if isinstance(a, Handoff)]


def test_it_loads_without_warnings(default_flow: Flow) -> None:
    assert default_flow.warnings == ()
    assert {
        "Cadastro Único",
        "Iluminação Pública",
        "Bem-estar Animal",
        "Atendimento Geral",
        "Urgente",
    } <= set(default_flow.departments)


def test_greeting_and_main_menu_as_a_list(default_flow: Flow) -> None:
    first = step(default_flow, None, Input("Oi, bom dia"), MONDAY_2PM)
    assert first.actions == (ContactStarted(),)
    assert "Central 156" in reply_text(first.replies[0])
    menu = first.replies[1]
    assert isinstance(menu, ListReply)
    titles = [r.title for s in menu.sections for r in s.rows]
    assert titles == [
        "Cadastro Único",
        "Iluminação Pública",
        "Castração de animais",
        "Dúvidas frequentes",
        "Falar com atendente",
    ]


def test_holiday_greeting(default_flow: Flow) -> None:
    first = step(default_flow, None, Input("oi"), CHRISTMAS)
    assert "Hoje é feriado" in reply_text(first.replies[0])


@pytest.mark.parametrize(
    "inp",
    [
        Input("Iluminação Pública", choice_id="menu_principal:iluminacao"),  # list reply
        Input("2"),  # typed number
        Input("iluminasão publica"),  # misspelt title
        Input("a luz do poste da minha rua apagou"),  # synonym in a sentence
    ],
)
def test_four_ways_to_the_same_node(default_flow: Flow, inp: Input) -> None:
    steps = run(default_flow, ["oi", inp])
    assert steps[1].state.node == "iluminacao_menu"


def test_faq_is_answered_with_no_room(default_flow: Flow) -> None:
    steps = run(default_flow, ["oi", "4", "Endereços", "Encerrar"])
    assert "Paço Municipal" in reply_text(steps[2].replies[0])
    assert Resolved("enderecos") in steps[2].actions
    assert not handoffs(steps) and Ended("end", "encerrar") in steps[3].actions


def test_service_request_collects_data_and_hands_off(default_flow: Flow) -> None:
    photo = Media("image", "wamid.photo", "image/jpeg", None)
    steps = run(
        default_flow,
        [
            "oi",
            "Iluminação Pública",
            "1",
            "José Pereira",
            "529 982 247 25",
            "01310-100",
            "Rua das Acácias, 45, em frente à escola",
            Input(media=photo),
        ],
    )
    (handoff,) = handoffs(steps)
    assert handoff.department == "Iluminação Pública" and handoff.priority == "normal"
    assert handoff.fields == {
        "problema": "Lâmpada apagada",
        "nome": "José Pereira",
        "cpf": VALID_CPF,
        "cep": "01310-100",
        "endereco": "Rua das Acácias, 45, em frente à escola",
    }
    assert handoff.attachments == {"foto": photo}
    assert handoff.service == "Iluminação Pública › Lâmpada apagada"
    assert "• Endereço: Rua das Acácias, 45, em frente à escola" in handoff.transcript
    assert "Obrigado, José Pereira!" in reply_text(steps[-1].replies[0])


def test_dangerous_post_goes_with_high_priority(default_flow: Flow) -> None:
    steps = run(
        default_flow,
        ["oi", "2", "Poste danificado", "Ana", VALID_CPF, "pular", "Rua B, 1", "pular"],
    )
    (handoff,) = handoffs(steps)
    assert handoff.priority == "high" and "risco" in handoff.tags
    assert handoff.fields["cep"] == "(não informado)"


def test_castration_branch_on_cadunico(default_flow: Flow) -> None:
    steps = run(
        default_flow,
        ["oi", "3", "Agendar castração", "não", "gato", "2", "Ana", VALID_CPF, "pular"],
    )
    assert "Sem problema" in reply_text(steps[3].replies[0])
    (handoff,) = handoffs(steps)
    assert handoff.department == "Bem-estar Animal"
    assert handoff.fields["cadunico"] == "Não" and handoff.fields["especie"] == "Gato"


@pytest.mark.parametrize(
    "node_inputs",
    [
        ["oi"],
        ["oi", "1"],
        ["oi", "2", "1"],
        ["oi", "2", "1", "Ana"],
    ],
)
def test_atendente_from_any_node(default_flow: Flow, node_inputs: list[str]) -> None:
    steps = run(default_flow, [*node_inputs, "atendente"])
    (handoff,) = handoffs(steps)
    assert handoff.department == "Atendimento Geral"


def test_urgent_path_skips_the_menu(default_flow: Flow) -> None:
    result = step(default_flow, None, Input("Estou sofrendo violência doméstica"), MONDAY_2PM)
    (handoff,) = handoffs([result])
    assert handoff.priority == "urgent" and handoff.department == "Urgente"
    assert "190" in reply_text(result.replies[0])


@pytest.mark.parametrize(
    "words",
    [
        "meu marido me bateu",
        "fui agredida pelo meu companheiro",
        "sofro violência em casa",
        "meu ex me ameaçou de morte",
        "quero uma medida protetiva pela Lei Maria da Penha",
        "ele disse que vai me matar",
    ],
)
def test_a_victim_in_her_own_words_reaches_a_person_first(default_flow: Flow, words: str) -> None:
    """Nobody in danger writes 'violência doméstica': her own words, at any point of the
    conversation, go to the urgent department, ahead of the menu."""
    for before in ([], ["oi", "2"]):
        steps = run(default_flow, [*before, words], now=MONDAY_NIGHT)
        (handoff,) = handoffs(steps)
        assert handoff.priority == "urgent" and handoff.department == "Urgente", words


@pytest.mark.parametrize(
    "words",
    [
        "Maria da Penha Oliveira",  # a name
        "Rua Maria da Penha, 45",
        "quero denunciar violência contra animais",
        "meu cachorro foi agredido pelo vizinho",
        "a árvore está ameaçada de cair",
        "estou sendo ameaçado de despejo",
        "o proprietário me ameaçou de despejo",
        "Boa tarde, me bateu uma dúvida sobre o IPTU",
        "essa fila do CRAS vai me matar",
    ],
)
def test_everyday_words_near_the_urgent_ones_stay_where_they_are(
    default_flow: Flow, words: str
) -> None:
    steps = run(default_flow, ["oi", words], now=MONDAY_2PM)
    assert not any(h.priority == "urgent" for h in handoffs(steps)), words


def test_out_of_hours_nothing_is_lost(default_flow: Flow) -> None:
    steps = run(
        default_flow,
        ["oi", "Falar com atendente", "A calçada da praça está quebrada"],
        now=MONDAY_NIGHT,
    )
    told = reply_text(steps[1].replies[0])
    assert "fora do horário" in told and "das 8h às 12h e das 13h às 17h" in told
    (handoff,) = handoffs(steps)
    assert handoff.after_hours and handoff.fields["offline_message"].startswith("A calçada")


def test_survey_after_close(default_flow: Flow) -> None:
    steps = run(default_flow, ["oi", "atendente"])
    closed = after_agent_closed(default_flow, steps[-1].state, MONDAY_2PM + timedelta(minutes=50))
    assert reply_text(closed.replies[0]).startswith("Seu atendimento foi encerrado")
    scored = step(default_flow, closed.state, Input("5"), MONDAY_2PM + timedelta(hours=1))
    assert scored.actions == (SurveyAnswered(5),)  # recorded now: most never write again
    later = MONDAY_2PM + timedelta(hours=1)
    done = step(default_flow, scored.state, Input("Fui bem atendida"), later)
    assert done.actions == (SurveyCommented("Fui bem atendida"), Ended("end", "pesquisa"))


def test_misses_offer_a_person(default_flow: Flow) -> None:
    steps = run(default_flow, ["oi", "asdf", "qwer", "zxcv"])
    assert steps[-1].state.node == "nao_entendi"
    assert all(not isinstance(r, TextReply) for r in steps[-1].replies)
