"""A bug in handling one item (here, in the bot) is recorded without personal data in the
log; the other items of the same delivery go on (issue #8)."""

from __future__ import annotations

import json

import pytest

from bridge.core.decide import BotTurn
from bridge.core.model import CitizenMessage, Conversation, SendText
from bridge.sandbox.graph_wire import meta_dumps, text_message
from tests.e2e.test_robustness import OTHER, post_signed, rejected
from tests.support.e2e import CITIZEN, Env, until


class Grumpy:
    """A bot with a bug: it raises on one word and answers everything else."""

    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn:
        if message.text == "quebra":
            raise KeyError("5511987654321")  # an exception that quotes a phone number
        return BotTurn("{}", (SendText(f"recebido: {message.text}"),))

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        return BotTurn(conversation.bot_state)

    def no_agent(self, conversation: Conversation) -> BotTurn:
        return BotTurn(conversation.bot_state)


@pytest.fixture
def bot() -> Grumpy:
    return Grumpy()


async def test_an_item_whose_handling_raises_is_recorded_and_the_rest_go_on(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    body = env.graph.envelope_for(CITIZEN, text_message(CITIZEN, "quebra"))
    second = text_message(OTHER, "tudo bem")
    body["entry"][0]["changes"][0]["value"]["messages"].append(second)
    assert await post_signed(env, meta_dumps(body)) == 200
    await until(lambda: "recebido: tudo bem" in env.citizen_texts())
    [(source, reason, raw)] = rejected(env)
    assert source == "whatsapp" and reason.startswith("failed: KeyError at ")
    assert json.loads(raw)["text"]["body"] == "quebra"
    logged = capsys.readouterr().out
    assert "webhook.item_failed" in logged and "5511987654321" not in logged
