"""Replies, reactions and edits over real HTTP (issue #9 §3): what a citizen answers or
reacts to shows in the room; an agent's quote and correction quote the WhatsApp message."""

from __future__ import annotations

import json
from typing import Any

from bridge.sandbox.graph_wire import text_message
from tests.support.e2e import CITIZEN, Env, settled, until


async def with_agent_reply(env: Env) -> tuple[str, str, str]:
    """A room, and an agent's reply delivered: (room id, its Rocket.Chat id, its wamid)."""
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    rc_id = await env.rc.agent_says(rid, "Seu pedido é o 2026-0042")
    await until(lambda: len(texts(env)) == 1)
    return rid, rc_id, str(texts(env)[0]["_wamid"])


def texts(env: Env) -> list[dict[str, Any]]:
    return [m for m in env.graph.sent if m.get("type") == "text"]


async def citizen_sends(env: Env, message: dict[str, Any]) -> None:
    assert await env.graph.deliver(env.graph.envelope_for(CITIZEN, message)) == 200


async def test_a_citizens_reply_shows_what_it_answers(env: Env) -> None:
    rid, _, wamid = await with_agent_reply(env)
    reply = text_message(CITIZEN, "Obrigado, anotei")
    reply["context"] = {"from": env.graph.display_phone_number, "id": wamid}
    await citizen_sends(env, reply)
    await until(lambda: any("Obrigado, anotei" in t for t in env.room_texts(rid)))
    shown = next(t for t in env.room_texts(rid) if "Obrigado, anotei" in t)
    assert "Seu pedido é o 2026-0042" in shown and shown.startswith("↪️")


async def test_a_reaction_is_a_line_saying_to_what(env: Env) -> None:
    rid, _, wamid = await with_agent_reply(env)
    reaction = text_message(CITIZEN, "")
    reaction.pop("text")
    reaction.update(type="reaction", reaction={"message_id": wamid, "emoji": "👍"})
    await citizen_sends(env, reaction)
    await until(lambda: any("👍" in t for t in env.room_texts(rid)))
    line = next(t for t in env.room_texts(rid) if "👍" in t)
    assert line.startswith("Reagiu com 👍") and "2026-0042" in line


async def test_an_agents_quote_is_sent_quoting_the_citizens_message(env: Env) -> None:
    rid, _, _ = await with_agent_reply(env)
    first = next(m for m in env.rc.visitor_messages(rid) if m["msg"] == "oi")
    await env.rc.agent_quotes(rid, first["_id"], "Sobre isso: já resolvemos.")
    await until(lambda: len(texts(env)) == 2)
    quoted = texts(env)[1]
    assert quoted["text"]["body"] == "*Ana Souza*: Sobre isso: já resolvemos."  # no link markup
    inbound = [
        m["id"]
        for _, body in env.graph.webhook_log
        for m in _messages(body)
        if m.get("type") == "text"
    ]
    assert quoted["context"] == {"message_id": inbound[0]}


async def test_an_edit_is_sent_once_as_a_correction_quoting_the_original(env: Env) -> None:
    rid, rc_id, wamid = await with_agent_reply(env)
    await env.rc.agent_edits(rid, rc_id, "Seu pedido é o 2026-0043")
    await until(lambda: len(texts(env)) == 2)
    correction = texts(env)[1]
    assert correction["text"]["body"] == "*Ana Souza*: ✏️ Correção: Seu pedido é o 2026-0043"
    assert correction["context"] == {"message_id": wamid}
    await env.rc.redeliver_last_webhook()
    await env.parts.reconciler.once()
    await settled(env)
    assert len(texts(env)) == 2


def _messages(body: bytes) -> list[dict[str, Any]]:
    return [
        m
        for entry in json.loads(body)["entry"]
        for change in entry["changes"]
        for m in change["value"].get("messages", [])
    ]
