"""The chat-taken event is used, not thrown away (issue #9 §7): counted per department,
and, when BRIDGE_ANNOUNCE_AGENT is on, the citizen is told who is attending."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.e2e import CITIZEN, Env, settled, until


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"bridge_announce_agent": True}


async def test_the_citizen_is_told_who_took_the_chat(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: env.citizen_texts() == ["Você está sendo atendido(a) por Ana Souza."])
    await settled(env)
    counters = {(c.name, c.label): c.value for c in await env.parts.store.counters()}
    assert counters[("room_taken", "Atendimento")] == 1
    taken = next(p for p in env.rc.webhook_payloads if p["type"] == "LivechatSessionTaken")
    env.rc._send(taken)  # the same event again, as a slow answer makes Rocket.Chat retry
    await settled(env)
    assert len(env.citizen_texts()) == 1  # a repeated webhook is not a second take
