"""The relay over real HTTP: citizen ↔ agent, duplicates, bursts, outages, failures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bridge.app import build_app
from bridge.core.decide import Texts
from bridge.core.outbox import FAIR_TURNS
from bridge.sandbox.graph_wire import meta_dumps, sign
from tests.support.e2e import APP_SECRET, CITIZEN, Env, make_settings, settled, until


async def test_citizen_reaches_agent_and_agent_reaches_citizen(env: Env) -> None:
    status, _ = await env.graph.citizen_says(CITIZEN, "Olá, preciso de ajuda com o IPTU")
    assert status == 200
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    room = env.room()
    await until(lambda: len(env.room_texts(room["_id"])) == 2)
    transcript, relayed = env.room_texts(room["_id"])
    assert "+5511987654321" in transcript
    assert relayed == "Olá, preciso de ajuda com o IPTU"
    visitor = env.rc.visitors[room["v"]["token"]]
    assert visitor["phone"] == [{"phoneNumber": "+5511987654321"}]

    await env.rc.agent_says(room["_id"], "Bom dia! Posso ajudar.", agent_name="Ana Souza")
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: Bom dia! Posso ajudar."])
    assert env.graph.sent[0]["to"] == CITIZEN


async def test_duplicate_deliveries_from_both_sides_relay_once(env: Env) -> None:
    body = env.graph.make_text_payload(CITIZEN, "uma vez só", wamid="wamid.dup-1")
    assert await env.graph.deliver(body) == 200
    assert await env.graph.deliver(body) == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await until(lambda: len(env.room_texts(rid)) == 2)

    msg_id = await env.rc.agent_says(rid, "resposta")
    await env.rc.wait_webhooks_idle()
    await env.rc.redeliver_last_webhook()
    await env.rc.wait_webhooks_idle()
    await until(lambda: len(env.citizen_texts()) == 1)
    await env.parts.reconciler.once()  # history replays the same message: still once
    await env.graph.deliver(body)
    await _settled(env)
    assert env.room_texts(rid).count("uma vez só") == 1
    assert len(env.citizen_texts()) == 1 and msg_id


async def test_a_burst_of_fifty_arrives_in_order(env: Env) -> None:
    for n in range(50):
        assert (await env.graph.citizen_says(CITIZEN, f"mensagem {n}"))[0] == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await until(lambda: len(env.room_texts(rid)) == 51, limit=20)
    assert env.room_texts(rid)[1:] == [f"mensagem {n}" for n in range(50)]


@pytest.mark.parametrize("bridge_options", [{"bridge_outbox_concurrency": 2}])
async def test_no_more_conversations_in_flight_than_the_setting_allows(env: Env) -> None:
    """BRIDGE_OUTBOX_CONCURRENCY bounds the calls waiting on Rocket.Chat at once; the
    conversations past it are delivered when a call ends, none lost."""
    citizens = await _with_rooms(env, [f"55119876500{n:02d}" for n in range(4)])
    env.rc.hold()
    for n, citizen in enumerate(citizens):
        assert (await env.graph.citizen_says(citizen, f"segunda {n}"))[0] == 200
    await until(lambda: env.rc.held_requests == 2)
    await asyncio.sleep(0.3)  # room for a third call, were one allowed
    assert env.rc.held_requests == 2
    env.rc.release()
    await _settled(env)
    texts = [t for rid in env.rc.open_room_ids() for t in env.room_texts(rid)]
    assert sorted(t for t in texts if t.startswith("segunda")) == [f"segunda {n}" for n in range(4)]


@pytest.mark.parametrize("bridge_options", [{"bridge_outbox_concurrency": 1}])
async def test_lanes_handed_over_at_intake_wait_for_a_slot_and_are_given_back_at_stop(
    env: Env,
) -> None:
    """A message's lane is leased to this process in the transaction that accepts it and
    goes straight to the outbox, which still runs no more calls than the setting allows;
    what waits for a slot when the bridge stops is given back (due again at once for any
    replica). While one of them waits, new lanes are left to the dispatcher's claims."""
    citizens = await _with_rooms(env, [f"55119876501{n:02d}" for n in range(3)])
    env.rc.hold()
    # One delivery from Meta with a message from each: one hand-off for the three lanes.
    body = env.graph.make_text_payload(citizens[0], "segunda 0")
    for n, citizen in enumerate(citizens[1:], start=1):
        body["entry"] += env.graph.make_text_payload(citizen, f"segunda {n}")["entry"]
    assert await env.graph.deliver(body) == 200
    await until(lambda: env.rc.held_requests == 1)
    assert _lanes(env) == {"leased": 3, "free": 0}  # one call in flight, two waiting
    assert (await env.graph.citizen_says(CITIZEN, "cheio"))[0] == 200
    assert _lanes(env) == {"leased": 3, "free": 1}  # two wait: left to the dispatcher
    await env.parts.supervisor.stop()
    assert _lanes(env) == {"leased": 0, "free": 4}
    assert (await env.graph.citizen_says("5511987650199", "depois"))[0] == 200
    assert _lanes(env) == {"leased": 0, "free": 5}  # a new lane, not leased to a stopped outbox
    env.rc.release()


@pytest.mark.parametrize("bridge_options", [{"bridge_outbox_concurrency": 1}])
async def test_a_busy_conversation_gives_its_slot_to_one_that_waits(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more busy conversations than slots, a lane hands on at most FAIR_TURNS rows
    while another waits, then goes back to the queue: nobody waits for a chatty citizen's
    whole backlog. Order within each conversation is kept."""
    chatty, other = await _with_rooms(env, ["5511987650201", "5511987650202"])
    order: list[str] = []
    rocketchat = env.parts.rocketchat
    send = rocketchat.send_message

    async def recording(token: Any, room_id: Any, text: str, message_id: str) -> str:
        order.append(text)
        return await send(token, room_id, text, message_id)

    monkeypatch.setattr(rocketchat, "send_message", recording)
    env.rc.hold()
    for n in range(12):
        assert (await env.graph.citizen_says(chatty, f"a{n}"))[0] == 200
    await until(lambda: env.rc.held_requests == 1)
    for n in range(3):
        assert (await env.graph.citizen_says(other, f"b{n}"))[0] == 200
    env.rc.release()
    await until(lambda: len(order) == 15)
    chatty_turn = [f"a{n}" for n in range(FAIR_TURNS)]
    assert order == [*chatty_turn, "b0", "b1", "b2", *[f"a{n}" for n in range(FAIR_TURNS, 12)]]


async def _with_rooms(env: Env, citizens: list[str]) -> list[str]:
    """Each citizen has said hello and has an open room; nothing left in flight."""
    for n, citizen in enumerate(citizens):
        await env.graph.citizen_says(citizen, f"oi {n}")
        await until(lambda n=n: len(env.rc.open_room_ids()) == n + 1)
    await _settled(env)
    return citizens


def _lanes(env: Env) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(env.settings.bridge_db)) as db:
        rows = db.execute("SELECT lease IS NOT NULL, COUNT(*) FROM lane GROUP BY 1").fetchall()
    found = {bool(leased): count for leased, count in rows}
    return {"leased": found.get(True, 0), "free": found.get(False, 0)}


async def test_rocketchat_down_then_back_loses_nothing_and_keeps_order(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "antes")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await until(lambda: len(env.room_texts(rid)) == 2)
    env.rc.set_down(True)
    for n in range(10):
        await env.graph.citizen_says(CITIZEN, f"durante {n}")
    await until(lambda: env.rc.failed_requests >= 3)
    env.rc.set_down(False)
    await until(lambda: len(env.room_texts(rid)) == 12, limit=20)
    assert env.room_texts(rid)[1:] == ["antes"] + [f"durante {n}" for n in range(10)]


async def test_graph_rate_limit_is_retried(env: Env) -> None:
    rid = await _with_room(env)
    env.graph.fail_next(130429, count=2)
    await env.rc.agent_says(rid, "depois do limite")
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: depois do limite"])


async def test_closed_window_produces_a_notice_in_the_room(env: Env) -> None:
    rid = await _with_room(env)
    env.graph.expire_window(CITIZEN)
    await env.rc.agent_says(rid, "resposta tardia")
    await until(lambda: any("24 horas" in t for t in env.room_texts(rid)))


async def test_synchronous_permanent_failure_also_produces_a_notice(env: Env) -> None:
    rid = await _with_room(env)
    env.graph.fail_next(131026)
    await env.rc.agent_says(rid, "não vai chegar")
    await until(lambda: any("131026" in t for t in env.room_texts(rid)))


async def test_bad_signature_relays_nothing(env: Env) -> None:
    body = env.graph.make_text_payload(CITIZEN, "forjada", wamid="wamid.forged")
    assert await env.graph.deliver(body, signature="sha256=" + "0" * 64, retry=False) == 401
    assert await env.graph.deliver(body, signature="", retry=False) == 401
    await _settled(env)
    assert env.rc.rooms == {} and env.rc.visitors == {}


async def test_agent_reply_whose_webhook_never_came_is_reconciled(env: Env) -> None:
    rid = await _with_room(env)
    env.rc.drop_webhooks = True
    await env.rc.agent_says(rid, "perdida no caminho")
    await _settled(env)
    assert env.citizen_texts() == []
    assert await env.parts.reconciler.once() == 1
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: perdida no caminho"])


async def test_close_returns_the_conversation_to_the_start(env: Env) -> None:
    rid = await _with_room(env)
    await env.rc.close_room(rid)
    await until(lambda: len(env.citizen_texts()) == 1)
    assert "encerrado" in env.citizen_texts()[0]
    await env.graph.citizen_says(CITIZEN, "nova dúvida")
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    new_rid = env.room()["_id"]
    assert new_rid != rid
    await until(lambda: env.room_texts(new_rid)[-1:] == ["nova dúvida"])


async def test_a_reply_whose_webhook_lost_the_race_with_the_close_still_arrives(env: Env) -> None:
    """The agent's last words' webhook failed (Rocket.Chat retries it later, in no order
    with other events, §4.2) and the agent closed at once: the closing transcript has them."""
    rid = await _with_room(env)
    env.rc.drop_webhooks = True
    await env.rc.agent_says(rid, "Protocolo 2026-123, obrigado")
    env.rc.drop_webhooks = False
    await env.rc.close_room(rid)
    await until(lambda: len(env.citizen_texts()) == 2)
    await _settled(env)
    first, closing = env.citizen_texts()
    assert first == "*Ana Souza*: Protocolo 2026-123, obrigado" and "encerrado" in closing


async def test_room_closed_without_webhook_opens_a_new_room_for_the_message(env: Env) -> None:
    rid = await _with_room(env)
    env.rc.drop_webhooks = True
    await env.rc.close_room(rid)
    env.rc.drop_webhooks = False
    await env.graph.citizen_says(CITIZEN, "ainda estou aqui")
    await until(lambda: len(env.rc.open_room_ids()) == 1 and env.room()["_id"] != rid)
    new_rid = env.room()["_id"]
    await until(lambda: env.room_texts(new_rid)[-1:] == ["ainda estou aqui"])


async def test_no_agent_online_tells_the_citizen_and_keeps_the_words(env: Env) -> None:
    env.rc.agents_online = False
    await env.graph.citizen_says(CITIZEN, "alguém aí?")
    await env.graph.citizen_says(CITIZEN, "é urgente")
    await until(lambda: len(env.citizen_texts()) == 1)
    assert "não há atendentes disponíveis" in env.citizen_texts()[0]
    env.rc.agents_online = True
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    rid = env.room()["_id"]
    await until(lambda: env.room_texts(rid)[1:] == ["alguém aí?", "é urgente"])
    assert len(env.citizen_texts()) == 1  # told once, not once per retry


async def test_the_token_rocketchat_returns_is_the_one_used(env: Env) -> None:
    env.rc.seed_visitor(token="legacy-token", phone="+5511987654321", name="Maria")
    await env.graph.citizen_says(CITIZEN, "oi de novo")
    await until(lambda: bool(env.rc.open_room_ids()))
    room = env.room()
    assert room["v"]["token"] == "legacy-token"
    await until(lambda: env.room_texts(room["_id"])[-1:] == ["oi de novo"])


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {}


async def _with_room(env: Env) -> str:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    return rid


async def _settled(env: Env) -> None:
    """Let queued work finish: nothing due in the outbox and no webhook in flight."""
    await env.rc.wait_webhooks_idle()
    await env.graph.wait_idle()
    await until(env.parts.outbox.idle)


async def test_a_second_database_never_reuses_a_transcript_id(
    env: Env, tmp_path: Path, texts: Texts
) -> None:
    """Row ids restart in a restored backup or a second bridge: the room's first message
    must still arrive, not be refused as a duplicate `_id` and taken for delivered."""
    await env.graph.citizen_says(CITIZEN, "primeira")
    await until(lambda: bool(env.rc.open_room_ids()))
    first = env.room()["_id"]
    await until(lambda: len(env.room_texts(first)) == 2)

    settings = make_settings(tmp_path / "other.db", env.graph.base_url, env.rc.base_url)
    runner = web.AppRunner(build_app(settings, texts))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        other = "5511900000002"
        body = meta_dumps(env.graph.make_text_payload(other, "segunda"))
        async with aiohttp.ClientSession() as http:
            headers = {"X-Hub-Signature-256": sign(APP_SECRET, body)}
            url = f"http://{host}:{port}/webhooks/whatsapp"
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 200
        await until(lambda: len(env.rc.open_room_ids()) == 2)
        second = [rid for rid in env.rc.open_room_ids() if rid != first]
        await until(lambda: len(env.room_texts(second[0])) == 2)
        transcript, relayed = env.room_texts(second[0])
        assert "+5511900000002" in transcript and relayed == "segunda"
    finally:
        await runner.cleanup()


async def test_a_room_request_refused_for_good_does_not_strand_the_message(env: Env) -> None:
    """The visitor vanished between registration and the room (`invalid-token`): the request
    is dropped, and the message behind it starts a new one instead of waiting forever."""
    env.rc.fail_next("livechat/room", status=400, body={"success": False, "error": "invalid-token"})
    await env.graph.citizen_says(CITIZEN, "ainda estou aqui")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await settled(env)
    assert env.room_texts(rid)[1:] == ["ainda estou aqui"]
    assert await env.parts.store.outbox_depth() == {}


async def test_rocketchats_character_limit_splits_the_citizens_words_never_drops_them(
    env: Env,
) -> None:
    """An admin may switch on Livechat_enable_message_character_limit (§2.4): the
    transcript and a long message go in parts, and every word arrives, once, in order."""
    env.rc.message_character_limit = 120
    words = [f"palavra{n}" for n in range(60)]  # about 600 characters
    await env.graph.citizen_says(CITIZEN, " ".join(words))
    await until(lambda: bool(env.rc.open_room_ids()))
    await _settled(env)
    texts = env.room_texts(env.room()["_id"])
    assert all(len(t) <= 120 for t in texts) and len(texts) > 5
    said = " ".join(texts).split()
    assert [w for w in said if w.startswith("palavra")][-60:] == words
    assert await env.parts.store.outbox_depth() == {}
