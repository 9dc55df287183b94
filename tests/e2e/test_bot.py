"""The first-layer bot over real HTTP: the default 156 flow against the fakes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bridge.botlink import FlowBot
from bridge.core.decide import Bot
from tests.conftest import FIXTURES
from tests.support.e2e import CITIZEN, Env, settled, until
from tests.support.flowbot import (
    SUNDAY_10H,
    Clock,
    default_flow_bot,
    default_flow_departments,
)

VALID_CPF = "529.982.247-25"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flow_bot(clock: Clock) -> FlowBot:
    return default_flow_bot(clock)


@pytest.fixture
def bot(flow_bot: FlowBot) -> Bot:
    return flow_bot


@pytest.fixture
def departments() -> tuple[str, ...]:
    return default_flow_departments()


def sent_to(env: Env, wa_id: str) -> list[dict[str, Any]]:
    return [b for b in env.graph.sent if b.get("to") == wa_id]


def menus(env: Env, wa_id: str = CITIZEN) -> list[dict[str, Any]]:
    return [b["interactive"] for b in sent_to(env, wa_id) if b["type"] == "interactive"]


def texts(env: Env, wa_id: str = CITIZEN) -> list[str]:
    return [b["text"]["body"] for b in sent_to(env, wa_id) if b["type"] == "text"]


async def say(env: Env, text: str, wa_id: str = CITIZEN) -> None:
    """The citizen writes and the bridge has answered (every outbox row delivered)."""
    before = len(sent_to(env, wa_id))
    status, _ = await env.graph.citizen_says(wa_id, text, name="Maria")
    assert status == 200
    await settled(env)
    assert len(sent_to(env, wa_id)) > before or env.rc.open_room_ids()


def rows(menu: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for s in menu["action"]["sections"] for r in s["rows"]]


async def counters(env: Env) -> dict[tuple[str, str], int]:
    found = [(c.day, c.name, c.label, c.value) for c in await env.parts.store.counters()]
    totals: dict[tuple[str, str], int] = {}
    for _day, name, label, value in found:
        totals[name, label] = totals.get((name, label), 0) + value
    return totals


async def test_a_new_citizen_gets_the_menu_as_an_interactive_list(env: Env) -> None:
    await say(env, "oi")
    menu = menus(env)[-1]
    assert menu["type"] == "list"
    titles = [r["title"] for r in rows(menu)]
    assert "Iluminação Pública" in titles and "Falar com atendente" in titles
    assert all(len(t) <= 24 for t in titles)
    assert not env.rc.rooms
    assert (await counters(env))["contact", ""] == 1


@pytest.mark.parametrize("how", ["list reply", "number", "misspelt title"])
async def test_a_list_reply_a_number_and_a_misspelt_title_reach_the_same_node(
    env: Env, how: str
) -> None:
    await say(env, "oi")
    first = menus(env)[-1]
    row = next(r for r in rows(first) if r["title"] == "Iluminação Pública")
    if how == "list reply":
        await env.graph.citizen_picks_row(CITIZEN, row["id"], row["title"], name="Maria")
        await settled(env)
    elif how == "number":
        await say(env, "2")
    else:
        await say(env, "iluminacao publca")
    reached = menus(env)[-1]
    assert reached is not first
    assert reached["header"]["text"] == "Iluminação Pública"
    assert "Lâmpada apagada" in [r["title"] for r in rows(reached)]


async def test_a_faq_is_answered_with_no_room(env: Env) -> None:
    await say(env, "oi")
    await say(env, "Dúvidas frequentes")
    await say(env, "1")
    assert any("Horários de atendimento" in t for t in texts(env))
    assert not env.rc.rooms and not env.rc.visitors
    found = await counters(env)
    assert found["bot_answer", "horarios"] == 1
    assert found["contact_resolved", ""] == 1


async def test_a_service_request_collects_the_data_and_opens_the_right_room(env: Env) -> None:
    for line in ("oi", "2", "Lâmpada apagada", "Maria da Silva", VALID_CPF, "01001-000"):
        await say(env, line)
    await say(env, "Rua das Flores, 120, em frente à padaria")
    photo = b"\x89PNG\r\n\x1a\n" + b"poste" * 50
    await env.graph.citizen_sends_media(CITIZEN, "image", photo, "image/png", name="Maria")
    await settled(env)
    await until(lambda: bool(env.rc.open_room_ids()))
    await settled(env)

    room = env.room()
    department = env.rc.store.department(room["departmentId"])
    assert department is not None and department["name"] == "Iluminação Pública"
    first = env.room_texts(room["_id"])[0]
    for expected in ("Maria da Silva", VALID_CPF, "01001-000", "Rua das Flores", "apagada"):
        assert expected in first, expected
    uploads = [m for m in env.rc.messages(room["_id"]) if m.get("file")]
    assert len(uploads) == 1
    assert env.rc.store.files[uploads[0]["file"]["_id"]].data == photo
    assert "iluminacao-publica" in room.get("tags", [])
    found = await counters(env)
    assert found["handoff", "Iluminação Pública"] == 1


async def test_what_the_citizen_did_not_write_is_never_taken_as_an_answer(env: Env) -> None:
    """A poll (WhatsApp shows the bridge only "unsupported", recorded fixture) where the
    bot asks for a name: asked again; the agent still sees that something came."""
    for line in ("oi", "2", "Lâmpada apagada"):
        await say(env, line)
    question = texts(env)[-1]
    cases = json.loads((FIXTURES / "whatsapp/pywa/message.json").read_text())
    value = cases["unsupported_with_type"]["entry"][0]["changes"][0]["value"]
    poll = {**value["messages"][0], "from": CITIZEN, "id": "wamid.poll-1"}
    poll["timestamp"] = str(int(time.time()))
    assert await env.graph.deliver(env.graph.envelope_for(CITIZEN, poll)) == 200
    await settled(env)
    assert "texto" in texts(env)[-1]  # asked for text: the poll is no name
    await say(env, "Maria da Silva")
    assert "CPF" in texts(env)[-1]
    await say(env, "atendente")
    await until(lambda: bool(env.rc.open_room_ids()))
    await settled(env)
    transcript = env.room_texts(env.room()["_id"])[0]
    assert "Nome: Maria da Silva" in transcript and f"{question}\nCidadão: [pool]" in transcript


@pytest.mark.parametrize("path", [[], ["2"], ["4"], ["2", "1", "Maria"]])
async def test_typing_atendente_from_any_node_hands_off(env: Env, path: list[str]) -> None:
    for line in ["oi", *path]:
        await say(env, line)
    await say(env, "atendente")
    await until(lambda: bool(env.rc.open_room_ids()))
    room = env.room()
    department = env.rc.store.department(room["departmentId"])
    assert department is not None and department["name"] == "Atendimento Geral"


async def test_an_urgent_case_skips_the_menu_and_is_visibly_urgent(env: Env) -> None:
    await say(env, "estou sendo ameaçada pelo meu ex companheiro")
    await until(lambda: bool(env.rc.open_room_ids()))
    room = env.room()
    department = env.rc.store.department(room["departmentId"])
    assert department is not None and department["name"] == "Urgente"
    assert room.get("topic", "").startswith("🚨 URGENTE")
    highest = next(p["_id"] for p in env.rc.store.priorities if p["sortItem"] == 1)
    assert room.get("priorityId") == highest  # five departments: an Enterprise server
    assert "urgente" in room.get("tags", [])
    assert not menus(env)  # no menu before the person


async def test_a_room_closed_outside_the_window_leaves_no_survey_waiting(env: Env) -> None:
    """The survey could not reach the citizen (24 h window closed), so the bot must not
    wait for its answer: the citizen's next words are a new request, not a rating."""
    old = str(int(time.time() - 25 * 3600))
    assert await env.graph.deliver(env.graph.make_text_payload(CITIZEN, "atendente",
                                                               timestamp=old)) == 200  # fmt: skip
    await until(lambda: bool(env.rc.open_room_ids()))
    await env.rc.close_room(env.room()["_id"])
    await settled(env)
    await say(env, "Preciso da segunda via do IPTU")
    assert await env.parts.store.surveys() == []
    assert "Falar com atendente" in [r["title"] for r in rows(menus(env)[-1])]  # the start


async def test_a_room_closed_while_its_transcript_is_retried_is_not_opened_again(
    env: Env,
) -> None:
    """The room opened, its transcript kept failing, the agent closed the empty room and
    the bot took the citizen back: the retried request must not open a second room."""
    env.rc.fail_next("livechat/message", status=503, count=10_000)
    await say(env, "oi")
    await env.graph.citizen_says(CITIZEN, "atendente", name="Maria")
    await until(lambda: bool(env.rc.open_room_ids()))
    [first] = env.rc.open_room_ids()
    await env.rc.close_room(first)
    await until(lambda: any(m["type"] == "interactive" for m in sent_to(env, CITIZEN)[-2:]))
    env.rc.failures.clear()
    await settled(env)
    assert list(env.rc.rooms) == [first]


async def test_after_the_agent_closes_the_survey_is_asked_and_stored(env: Env) -> None:
    await say(env, "oi")
    await say(env, "atendente")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await env.rc.agent_says(rid, "Resolvido, obrigado!")
    await env.rc.close_room(rid)
    await settled(env)
    survey = menus(env)[-1]
    assert "avalia" in survey["body"]["text"]
    score = next(r for r in rows(survey) if r["title"] == "Ótimo")
    await env.graph.citizen_picks_row(CITIZEN, score["id"], score["title"], name="Maria")
    await settled(env)
    # Counted now: most citizens rate and never write again.
    assert [(s.score, s.comment) for s in await env.parts.store.surveys()] == [(5, None)]
    await say(env, "Fui muito bem atendida")
    stored = [
        (s.conversation_id, s.department, s.score, s.comment)
        for s in await env.parts.store.surveys()
    ]
    assert [(s[1], s[2], s[3]) for s in stored] == [
        ("Atendimento Geral", 5, "Fui muito bem atendida")
    ]
    assert (await counters(env))["survey_score", "5"] == 1


async def test_out_of_hours_the_citizen_is_told_and_nothing_is_lost(env: Env, clock: Clock) -> None:
    clock.now = SUNDAY_10H
    await say(env, "oi")
    await say(env, "atendente")
    told = texts(env)[-1]
    assert "segunda a sexta" in told  # the hours, from the flow
    assert not env.rc.rooms
    await say(env, "Preciso da segunda via do carnê do IPTU, meu imóvel é o 123")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await settled(env)
    assert any("segunda via do carnê" in t for t in env.room_texts(rid))


async def test_nobody_online_leaves_a_message_that_reaches_the_room_later(env: Env) -> None:
    env.rc.agents_online = False
    await say(env, "oi")
    await say(env, "atendente")
    assert not env.rc.rooms  # livechat/config said offline: no room, the bot explains
    asked = len(env.rc.requests)
    await env.graph.citizen_says(CITIZEN, "Quero saber do meu protocolo 2026-000123")
    # The message is taken for the queue: the room is asked for and refused (no agent).
    await until(lambda: ("GET", "/api/v1/livechat/room") in env.rc.requests[asked:])
    assert not env.rc.open_room_ids()
    env.rc.agents_online = True
    await until(lambda: bool(env.rc.open_room_ids()), limit=20)
    rid = env.room()["_id"]
    await settled(env)
    assert any("protocolo 2026-000123" in t for t in env.room_texts(rid))
    found = await counters(env)
    assert found["handoff_refused", "Atendimento Geral"] == 1


async def test_messages_sent_while_nobody_is_online_all_reach_the_room(env: Env) -> None:
    env.rc.agents_online = False
    await say(env, "oi")
    menus_before = len(menus(env))
    # Rocket.Chat is slow to answer whether anyone is online, so the next messages queue
    # behind the room request and bounce back to the bot when it is refused.
    env.rc.hold()
    lines = ["meu protocolo 123", "rua das flores 10", "fico no aguardo"]
    for line in ["atendente", *lines]:
        assert (await env.graph.citizen_says(CITIZEN, line, name="Maria"))[0] == 200
    await until(lambda: env.rc.held_requests > 0)
    asked = len(env.rc.requests)
    env.rc.release()
    await until(lambda: ("GET", "/api/v1/livechat/room") in env.rc.requests[asked:])
    env.rc.agents_online = True
    await until(lambda: bool(env.rc.open_room_ids()), limit=20)
    rid = env.room()["_id"]
    await until(lambda: all(any(x in t for t in env.room_texts(rid)) for x in lines), limit=20)
    await settled(env)
    assert len(menus(env)) == menus_before  # nobody was sent back to the start menu
    joined = "\n".join(env.room_texts(rid))
    assert [joined.index(x) for x in lines] == sorted(joined.index(x) for x in lines)


@pytest.mark.parametrize(
    ("departments", "bridge_options"),
    [(("Atendimento Geral",), {"rocketchat_department": "Atendimento Geral"})],
)
async def test_on_community_edition_a_department_it_lacks_falls_back_to_the_default(
    env: Env,
) -> None:
    """Community Edition allows one department; the flow names five."""
    for line in ("oi", "2", "Lâmpada apagada", "Maria da Silva", VALID_CPF, "pular"):
        await say(env, line)
    await say(env, "Rua das Flores, 120")
    await say(env, "pular")
    await until(lambda: bool(env.rc.open_room_ids()))
    room = env.room()
    department = env.rc.store.department(room["departmentId"])
    assert department is not None and department["name"] == "Atendimento Geral"
    await settled(env)
    assert "Rua das Flores" in env.room_texts(room["_id"])[0]
    assert "iluminacao-publica" in room.get("tags", [])
