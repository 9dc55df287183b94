"""/readyz means something (issue #10 §7): red on a refused Graph token, on a phone number
id the token does not reach, on a service that stopped answering, and on a dead worker,
each named under `problems`; green again once fixed."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.support.e2e import CITIZEN, PNID, Env, settled, until


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"bridge_probe_seconds": 0.05}


async def ready(env: Env) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{env.url}/readyz") as answer:
        return answer.status, await answer.json()


async def until_ready(env: Env, expected: bool) -> dict[str, Any]:
    for _ in range(200):
        status, body = await ready(env)
        if (status == 200) is expected:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(body)


async def test_an_expired_graph_token_turns_readiness_red_until_it_is_replaced(
    env: Env,
) -> None:
    await until_ready(env, True)
    good = env.graph.numbers[PNID]
    env.graph.expire_token()
    body = await until_ready(env, False)
    assert body["checks"]["whatsapp"] is False and body["checks"]["rocketchat"] is True
    assert body["problems"][f"whatsapp:{PNID}"].startswith("credentials refused: (190)")

    env.graph.numbers[PNID] = good  # a new token, as the operator would set
    body = await until_ready(env, True)
    assert body["problems"] == {}


async def test_a_service_that_stops_answering_turns_readiness_red(env: Env) -> None:
    await until_ready(env, True)
    env.rc.set_down(True)
    body = await until_ready(env, False)
    assert body["problems"]["rocketchat"].startswith("unreachable for")
    env.rc.set_down(False)
    await until_ready(env, True)


async def test_a_not_ready_answer_names_its_problem_when_an_outage_ripens_meanwhile(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage's grace period can run out while /readyz probes the database (seen on a
    slow machine: 503 with no problem named)."""
    await until_ready(env, True)
    health, check_writable = env.parts.rocketchat.health, env.parts.store.check_writable

    async def slow_check() -> None:
        env.rc.set_down(True)
        await check_writable()
        # Set last, with no await after it: a probe answered meanwhile cannot undo it.
        health.failed("connection refused")
        health.down_since = health.clock() - health.grace  # its grace ran out just now

    monkeypatch.setattr(env.parts.store, "check_writable", slow_check)
    status, body = await ready(env)
    assert status == 503 and body["checks"]["rocketchat"] is False
    assert body["problems"]["rocketchat"].startswith("unreachable for")


async def test_a_dead_worker_is_named(env: Env) -> None:
    await until_ready(env, True)
    supervisor = env.parts.supervisor
    await supervisor.stop()  # every worker stopped: as good as dead
    body = await until_ready(env, False)
    assert body["checks"]["workers"] is False
    assert "worker:outbox" in body["problems"]


@pytest.mark.parametrize("bridge_options", [{"whatsapp_phone_number_id": "199999999999999"}])
async def test_a_phone_number_id_the_token_does_not_reach_is_refused(env: Env) -> None:
    body = await until_ready(env, False)
    assert body["problems"]["whatsapp:199999999999999"].startswith("credentials refused: (100)")


async def test_replies_wait_for_a_replaced_token_instead_of_dying(env: Env) -> None:
    """§7.2 says "no retry, alert ops" for code 190: /readyz alerts, and what the agent
    writes meanwhile reaches the citizen once the token is replaced."""
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await settled(env)
    good = env.graph.numbers[PNID]
    env.graph.expire_token()
    await env.rc.agent_says(rid, "Bom dia!")
    await until_ready(env, False)
    await asyncio.sleep(0.3)  # a few refused attempts
    assert env.citizen_texts() == []
    assert (await env.parts.store.outbox_depth()).get("dead", 0) == 0
    env.graph.numbers[PNID] = good
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: Bom dia!"])
    assert not any("NÃO foi entregue" in t for t in env.room_texts(rid))


async def test_a_refused_token_does_not_hold_the_citizens_words_behind_a_photo(
    env: Env,
) -> None:
    """The photo cannot be fetched while the token is refused: the agent reads what it was
    and everything the citizen writes after it, instead of waiting for the new token."""
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await settled(env)
    env.graph.expire_token()
    await env.graph.citizen_sends_media(CITIZEN, "image", b"\x89PNG\r\n\x1a\n", "image/png")
    await env.graph.citizen_says(CITIZEN, "é urgente")
    await until(lambda: "é urgente" in env.room_texts(rid))
    assert any(t.startswith("[image: ") for t in env.room_texts(rid))
