"""Blue ticks and "typing..." over real HTTP (issue #9 §2): the citizen's message is marked
read, with the typing indicator, before the bot's or the agent's reply; both can be off."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.core.decide import BotTurn
from bridge.core.model import CitizenMessage, Conversation, SendText
from tests.support.e2e import CITIZEN, Env, settled, until


class Echo:
    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn:
        return BotTurn("{}", (SendText(f"Recebi: {message.text}"),))

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        return BotTurn(None)

    def no_agent(self, conversation: Conversation) -> BotTurn:
        return BotTurn(None)


def _inbound_ids(env: Env) -> list[str]:
    ids = []
    for _status, body in env.graph.webhook_log:
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                ids += [m["id"] for m in change["value"].get("messages", [])]
    return ids


async def test_an_agent_reply_is_preceded_by_read_and_typing(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    assert env.graph.reads == []  # a handoff alone answers nothing
    await env.rc.agent_says(rid, "Bom dia!")
    await until(lambda: len(env.citizen_texts()) == 1)
    (read,) = env.graph.reads
    assert read["message_id"] == _inbound_ids(env)[-1]
    assert read["typing_indicator"] == {"type": "text"}


@pytest.mark.parametrize("bot", [Echo()])
async def test_the_bots_answer_is_preceded_by_read_and_typing(env: Env, bot: Any) -> None:
    await env.graph.citizen_says(CITIZEN, "horário")
    await until(lambda: env.citizen_texts() == ["Recebi: horário"])
    (read,) = env.graph.reads
    assert read["message_id"] == _inbound_ids(env)[-1]


@pytest.mark.parametrize(
    "bridge_options", [{"bridge_read_receipts": False, "bridge_typing_indicator": False}]
)
async def test_both_can_be_turned_off(env: Env, bridge_options: dict[str, Any]) -> None:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    await env.rc.agent_says(rid, "Bom dia!")
    await until(lambda: len(env.citizen_texts()) == 1)
    await settled(env)
    assert env.graph.reads == []
