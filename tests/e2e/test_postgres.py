"""The bridge on PostgreSQL (issue #11, one replica): the daemon relays both ways, drops
Meta's duplicates, and answers the LGPD and report commands, all over HTTP against the
fakes, in a schema of its own on the machine's PostgreSQL server (skipped, saying why,
where none answers)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge import lgpd
from bridge.core.privacy import wa_ids_for
from bridge.store import open_admin_store
from tests.store.backends import POSTGRES_URL, fresh_schema
from tests.support.e2e import CITIZEN, Env, settled, until


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    async with fresh_schema("e2e") as name:
        yield name


@pytest.fixture
def bridge_options(schema: str) -> dict[str, Any]:
    # asyncpg takes unknown URL parameters as server settings: this schema, alone.
    return {"bridge_database_url": f"{POSTGRES_URL}?search_path={schema}"}


async def test_a_conversation_goes_both_ways_once_on_postgresql(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "oi, preciso de ajuda")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.rc.open_room_ids()[0]
    await env.graph.redeliver(0)  # Meta's duplicate
    await env.rc.agent_says(rid, "Bom dia!")
    await settled(env)
    assert env.room_texts(rid)[1:] == ["oi, preciso de ajuda"]
    assert env.citizen_texts() == ["*Ana Souza*: Bom dia!"]
    assert await env.parts.store.outbox_depth() == {}
    counters = {(c.name, c.label): c.value for c in await env.parts.store.counters()}
    assert counters[("room_opened", "Atendimento")] == 1


async def test_export_and_forget_on_postgresql(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "meus dados", name="Maria")
    await until(lambda: bool(env.rc.open_room_ids()))
    await settled(env)
    admin = await open_admin_store(env.settings.database)
    try:
        out = io.StringIO()
        await lgpd.export(admin, wa_ids_for(CITIZEN), "dpo", out)
        data = json.loads(out.getvalue())
        assert [c["wa_id"] for c in data["conversations"]] == [CITIZEN]
        assert data["seen_message_ids"] and data["message_links"]
        code = await lgpd.forget(admin, env.settings, wa_ids_for(CITIZEN), "dpo",
                                 rocketchat=True)  # fmt: skip
        assert code == 0
        assert not (await admin.export(wa_ids_for(CITIZEN)))["conversations"]
        assert [e.action for e in await admin.audit_log(10)] == ["export", "forget"]
    finally:
        await admin.close()
    assert not env.rc.open_room_ids()


DEAD = "http://127.0.0.1:9/webhooks/rocketchat"  # a replica that died, or is slow to answer


async def room_with_agent(env: Env) -> str:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    await settled(env)
    return env.rc.open_room_ids()[0]


async def held_back(env: Env, rid: str, *texts: str) -> dict[str, dict[str, Any]]:
    """The agent says `texts`; their webhooks go nowhere. Each one's payload, by text."""
    live, env.rc.webhook_url = env.rc.webhook_url, DEAD
    for text in texts:
        await env.rc.agent_says(rid, text)
    await env.rc.wait_webhooks_idle()
    env.rc.webhook_url = live
    payloads = (p for p in env.rc.webhook_payloads if p["type"] == "Message")
    return {p["messages"][-1]["msg"]: p for p in payloads if p["messages"][-1]["msg"] in texts}


async def test_a_reply_whose_webhook_was_lost_is_not_overtaken_by_the_next(env: Env) -> None:
    """With replicas, a webhook that reached a replica as it died comes back only with
    Rocket.Chat's retry, ~20 s later; the next reply reads the room's history first, so
    the citizen gets both in the agent's order, once each."""
    rid = await room_with_agent(env)
    lost = await held_back(env, rid, "primeira")
    await env.rc.agent_says(rid, "segunda")
    await settled(env)
    assert env.citizen_texts() == ["*Ana Souza*: primeira", "*Ana Souza*: segunda"]
    env.rc._send(lost["primeira"])  # Rocket.Chat's own retry, at last
    await settled(env)
    assert len(env.citizen_texts()) == 2


async def test_the_history_read_stops_at_the_arriving_reply(env: Env) -> None:
    """The replay before an agent's message applies only what precedes it: the message is
    the webhook's own to apply (once, not replayed and then found a duplicate), and a
    newer one in the history waits for its own webhook rather than going first."""
    rid = await room_with_agent(env)
    held = await held_back(env, rid, "primeira", "segunda")
    env.rc._send(held["primeira"])
    await settled(env)
    assert env.citizen_texts() == ["*Ana Souza*: primeira"]
    env.rc._send(held["segunda"])
    await settled(env)
    assert env.citizen_texts() == ["*Ana Souza*: primeira", "*Ana Souza*: segunda"]
