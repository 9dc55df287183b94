"""The 24-hour window over real HTTP (issue #9 §1): an agent who answers late holds the
reply, the citizen gets the re-engagement template, the agent is told at once, and the held
replies arrive in order once the citizen writes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.e2e import CITIZEN, Env, settled, until

TEMPLATE = "retomar_atendimento"
DAY = 24 * 3600


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {
        "whatsapp_template_name": TEMPLATE,
        "whatsapp_template_parameters": "{name}|{agent}",
    }


async def room_after_a_day(env: Env) -> str:
    """The citizen wrote 25 hours ago, a room opened then, and nobody answered yet."""
    old = str(int(time.time() - DAY - 3600))
    assert await env.graph.deliver(env.graph.make_text_payload(CITIZEN, "oi", timestamp=old)) == 200
    env.graph.expire_window(CITIZEN)  # Meta's side of the same fact
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)  # transcript + the message
    return rid


def templates(env: Env) -> list[dict[str, Any]]:
    return [m["template"] for m in env.graph.sent if m.get("type") == "template"]


def notices(env: Env, rid: str, needle: str) -> list[str]:
    return [t for t in env.room_texts(rid) if needle in t]


async def test_a_late_reply_sends_the_template_and_waits_for_the_citizen(env: Env) -> None:
    rid = await room_after_a_day(env)
    await env.rc.agent_says(rid, "Bom dia, sobre o seu pedido...")
    await until(lambda: len(templates(env)) == 1)
    (template,) = templates(env)
    assert template["name"] == TEMPLATE and template["language"]["code"] == "pt_BR"
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params == ["Maria da Silva", "Ana Souza"]
    await until(lambda: len(notices(env, rid, TEMPLATE)) == 1)  # the agent knows at once
    await env.rc.agent_says(rid, "...já está resolvido.")
    await settled(env)
    assert env.citizen_texts() == []  # nothing free-form outside the window
    assert len(templates(env)) == 1 and len(notices(env, rid, "24 horas")) == 1
    assert (await env.parts.store.outbox_depth()).get("held") == 2

    await env.graph.citizen_says(CITIZEN, "Oi, voltei")
    await until(lambda: len(env.citizen_texts()) == 2)
    assert env.citizen_texts() == [
        "*Ana Souza*: Bom dia, sobre o seu pedido...",
        "*Ana Souza*: ...já está resolvido.",
    ]
    await until(lambda: "Oi, voltei" in env.room_texts(rid))
    await settled(env)
    assert await env.parts.store.outbox_depth() == {}


async def test_a_refused_template_is_reported_and_the_replies_still_wait(env: Env) -> None:
    env.graph.approved_templates = {("outro_modelo", "pt_BR"): 0}  # ours is not approved
    rid = await room_after_a_day(env)
    await env.rc.agent_says(rid, "Olá?")
    await until(lambda: len(notices(env, rid, "132001")) == 1)
    assert templates(env) == []
    await env.graph.citizen_says(CITIZEN, "Estou aqui")
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: Olá?"])


async def test_a_paused_template_is_reported(env: Env) -> None:
    env.graph.approved_templates = {(TEMPLATE, "pt_BR"): 2}
    env.graph.paused_templates = {TEMPLATE}
    rid = await room_after_a_day(env)
    await env.rc.agent_says(rid, "Olá?")
    await until(lambda: len(notices(env, rid, "132015")) == 1)


async def test_a_closing_message_outside_the_window_is_not_sent(env: Env) -> None:
    rid = await room_after_a_day(env)
    await env.rc.close_room(rid)
    await settled(env)
    assert env.citizen_texts() == [] and templates(env) == []
    counters = {(c.name, c.label) for c in await env.parts.store.counters()}
    assert ("window_dropped", "SendText") in counters


async def test_a_held_file_reaches_the_citizen_after_the_agent_closed_the_room(
    env: Env,
) -> None:
    """ "Here is your form, bye": the file waits for the citizen to write, and is then
    fetched from the closed room with the visitor's credentials (§5), not dropped."""
    rid = await room_after_a_day(env)
    await env.rc.agent_sends_file(rid, b"%PDF-1.4 guia", "guia.pdf", "application/pdf")
    await until(lambda: len(templates(env)) == 1)
    await env.rc.close_room(rid)
    await settled(env)
    assert (await env.parts.store.outbox_depth()).get("held") == 1

    await env.graph.citizen_says(CITIZEN, "Oi, voltei")
    await until(lambda: any(m.get("type") == "document" for m in env.graph.sent))
    [document] = [m["document"] for m in env.graph.sent if m.get("type") == "document"]
    assert document["filename"] == "guia.pdf"


async def test_metas_131047_closes_the_window_for_the_replies_that_follow(env: Env) -> None:
    """The bridge counted the window open, Meta did not (its clock decides, §8.1): the
    reply fails as a later `failed` status, and the next ones wait with the template
    instead of failing one by one."""
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await settled(env)
    env.graph.expire_window(CITIZEN)
    await env.rc.agent_says(rid, "Bom dia!")
    await until(lambda: len(notices(env, rid, "NÃO foi entregue")) == 1)
    await env.rc.agent_says(rid, "Ainda está aí?")
    await until(lambda: len(templates(env)) == 1)
    await settled(env)
    assert (await env.parts.store.outbox_depth()).get("held") == 1
    await env.graph.citizen_says(CITIZEN, "Estou sim")
    await until(lambda: "*Ana Souza*: Ainda está aí?" in env.citizen_texts())


async def test_a_paced_template_dropped_later_is_reported_to_the_agent(env: Env) -> None:
    """Accepted as `held_for_quality_assessment`, then a `failed` 132015 (§5.2): the agent
    was told the citizen would get it, and must hear that it did not."""
    env.graph.paced_templates = {TEMPLATE}
    rid = await room_after_a_day(env)
    await env.rc.agent_says(rid, "Olá?")
    await until(lambda: len(templates(env)) == 1)
    await until(lambda: len(notices(env, rid, "132015")) == 1)
    await settled(env)
    assert (await env.parts.store.outbox_depth()).get("held") == 1  # still for the citizen
