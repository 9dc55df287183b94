"""Odd input and crashed work never stall the bridge (issue #8), over real HTTP with valid
signatures: one bad item is recorded and its neighbours relayed, garbled auth headers get
401, crashed workers restart and /readyz says so meanwhile."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bridge.sandbox.graph_wire import meta_dumps, sign, text_message
from bridge.whatsapp import convert
from tests.support.e2e import APP_SECRET, CITIZEN, RC_TOKEN, Env, settled, until

OTHER = "5511900000077"


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"bridge_restart_backoff_seconds": 0.5, "bridge_reconcile_seconds": 0.05}


async def post_signed(env: Env, body: bytes) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{env.url}/webhooks/whatsapp",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(APP_SECRET, body),
            },
        ) as answer,
    ):
        return answer.status


async def raw_post(env: Env, path: str, header: bytes, body: bytes) -> int:
    """A request with a header aiohttp's client would refuse to send (raw bytes)."""
    url = urlsplit(env.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    writer.write(head + header + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


def rejected(env: Env) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(env.settings.bridge_db) as conn:
        rows = conn.execute("SELECT source, reason, body FROM rejected_payload ORDER BY id")
        return [(r[0], r[1], bytes(r[2])) for r in rows]


async def test_a_poison_item_is_recorded_and_the_good_one_beside_it_relayed(env: Env) -> None:
    good = text_message(CITIZEN, "mensagem boa")
    poison = text_message(OTHER, "x")
    poison["text"] = {"body": {"unexpected": ["types"]}}
    poison["timestamp"] = "not a number"
    body = env.graph.envelope_for(CITIZEN, good)
    body["entry"][0]["changes"][0]["value"]["messages"].insert(0, poison)
    assert await post_signed(env, meta_dumps(body)) == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "mensagem boa" in env.room_texts(env.room()["_id"]))
    [(source, reason, raw)] = rejected(env)
    assert source == "whatsapp" and reason.startswith("invalid message: ")
    assert json.loads(raw)["id"] == poison["id"]  # the item itself, kept for audit


async def test_an_order_with_an_infinite_quantity_is_recorded_and_its_neighbour_relayed(
    env: Env,
) -> None:
    """1e400 is valid JSON that parses to infinity: the item is invalid, not a 500 that
    Meta would retry for days with the good message beside it."""
    poison = {**text_message(OTHER, ""), "type": "order"}
    del poison["text"]
    poison["order"] = {"product_items": [{"product_retailer_id": "x", "quantity": "BIG"}]}
    body = env.graph.envelope_for(CITIZEN, text_message(CITIZEN, "mensagem boa"))
    body["entry"][0]["changes"][0]["value"]["messages"].insert(0, poison)
    raw = meta_dumps(body).replace(b'"BIG"', b"1e400")
    assert await post_signed(env, raw) == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "mensagem boa" in env.room_texts(env.room()["_id"]))
    [(_, reason, kept)] = rejected(env)
    assert reason.startswith("invalid message: order.product_items.0.quantity")
    assert json.loads(kept)["id"] == poison["id"]


async def test_a_bug_converting_one_message_records_it_and_relays_its_neighbour(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = convert.message

    def buggy(message: Any, *args: Any) -> Any:
        if message.text is not None and message.text.body == "gatilho":
            raise OverflowError("a bug nobody caught")
        return original(message, *args)

    monkeypatch.setattr(convert, "message", buggy)
    poison = text_message(OTHER, "gatilho")
    body = env.graph.envelope_for(CITIZEN, text_message(CITIZEN, "mensagem boa"))
    body["entry"][0]["changes"][0]["value"]["messages"].insert(0, poison)
    assert await post_signed(env, meta_dumps(body)) == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "mensagem boa" in env.room_texts(env.room()["_id"]))
    [(_, reason, kept)] = rejected(env)
    assert reason.startswith("failed: message: OverflowError at test_robustness.py:")
    assert json.loads(kept)["id"] == poison["id"]
    logged = capsys.readouterr().out
    assert "webhook.item_failed" in logged and "gatilho" not in logged


async def test_a_non_ascii_signature_header_gets_401(env: Env) -> None:
    body = meta_dumps(env.graph.make_text_payload(CITIZEN, "oi"))
    header = b"X-Hub-Signature-256: sha256=\xc3\xa9\xff" + b"0" * 60
    assert await raw_post(env, "/webhooks/whatsapp", header, body) == 401
    assert env.rc.rooms == {}


async def test_a_rocketchat_token_that_is_not_utf8_gets_401(env: Env) -> None:
    header = b"X-RocketChat-Livechat-Token: " + RC_TOKEN.encode() + b"\xff\xfe"
    assert await raw_post(env, "/webhooks/rocketchat", header, b'{"type": "Message"}') == 401


def dead_letters(env: Env) -> list[str]:
    with sqlite3.connect(env.settings.bridge_db) as conn:
        return [r[0] for r in conn.execute("SELECT last_error FROM outbox WHERE state = 'dead'")]


async def ready(env: Env) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{env.url}/readyz") as answer:
        return answer.status, await answer.json()


async def eventually_ready(env: Env, check: Callable[[int, dict[str, Any]], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        status, body = await ready(env)
        if check(status, body):
            return
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.02)


def crash_once(
    target: Callable[..., Awaitable[Any]], times: int = 1
) -> Callable[..., Awaitable[Any]]:
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise RuntimeError("a bug nobody caught")
        return await target(*args, **kwargs)

    return flaky


async def test_a_delivery_that_meets_a_bug_is_logged_and_retried_alone(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The outbox's error boundary per delivery: the bug is logged with its traceback, the
    row is tried again later, and the outbox itself never stops (no restart)."""
    await env.graph.citizen_says(CITIZEN, "primeira")
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "primeira" in env.room_texts(env.room()["_id"]))
    deliverer = env.parts.outbox._deliverer  # the seam the bug goes in
    monkeypatch.setattr(deliverer, "deliver", crash_once(deliverer.deliver))
    await env.graph.citizen_says(CITIZEN, "segunda")
    await until(lambda: "segunda" in env.room_texts(env.room()["_id"]))
    assert env.room_texts(env.room()["_id"]).count("segunda") == 1
    logged = capsys.readouterr().out
    assert "outbox.crashed" in logged and "RuntimeError" in logged and "Traceback" in logged
    _, body = await ready(env)
    assert body["workers"]["outbox"]["restarts"] == 0


@pytest.mark.parametrize("crashes", [1, 2])
async def test_a_settlement_that_meets_a_bug_neither_repeats_nor_stops_its_conversation(
    env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], crashes: int
) -> None:
    """A delivered message whose settlement raises in the store (a bug in its step) is
    written again without the step, or else set aside as a dead letter: never delivered
    twice, and its lane goes on."""
    await env.graph.citizen_says(CITIZEN, "primeira")
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "primeira" in env.room_texts(env.room()["_id"]))
    await settled(env)
    store = env.parts.store
    monkeypatch.setattr(store, "settle", crash_once(store.settle, crashes))
    await env.graph.citizen_says(CITIZEN, "segunda")
    await env.graph.citizen_says(CITIZEN, "terceira")
    await until(lambda: "terceira" in env.room_texts(env.room()["_id"]))
    await settled(env)
    texts = env.room_texts(env.room()["_id"])
    assert texts.count("segunda") == 1 and texts.count("terceira") == 1
    logged = capsys.readouterr().out
    assert logged.count("outbox.settle_crashed") == crashes and "RuntimeError" in logged
    assert dead_letters(env) == ["internal error while settling"] * (crashes - 1)
    _, body = await ready(env)
    assert body["workers"]["outbox"]["restarts"] == 0


async def test_a_crashed_outbox_is_restarted_and_readyz_shows_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await eventually_ready(env, lambda status, _: status == 200)
    store = env.parts.store
    monkeypatch.setattr(store, "claim", crash_once(store.claim))
    await env.graph.citizen_says(CITIZEN, "ainda chega?")
    await eventually_ready(
        env,
        lambda status, body: status == 503 and body["workers"]["outbox"]["state"] == "restarting",
    )
    await until(lambda: bool(env.rc.open_room_ids()))
    await until(lambda: "ainda chega?" in env.room_texts(env.room()["_id"]))
    await eventually_ready(env, lambda status, _: status == 200)
    _, body = await ready(env)
    assert body["workers"]["outbox"]["restarts"] == 1
    assert body["workers"]["outbox"]["last_error"] == "RuntimeError"


async def test_a_crashed_reconciler_is_restarted_and_readyz_shows_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    await eventually_ready(env, lambda status, _: status == 200)
    store = env.parts.store
    monkeypatch.setattr(store, "open_rooms", crash_once(store.open_rooms))
    await eventually_ready(
        env,
        lambda status, body: (
            status == 503 and body["workers"]["reconciler"]["state"] == "restarting"
        ),
    )
    await eventually_ready(
        env,
        lambda status, body: status == 200 and body["workers"]["reconciler"]["restarts"] == 1,
    )


async def test_an_html_answer_to_one_room_does_not_stop_reconciling_the_others(
    env: Env,
) -> None:
    await env.graph.citizen_says(CITIZEN, "oi")
    await env.graph.citizen_says(OTHER, "oi")
    await until(lambda: len(env.rc.open_room_ids()) == 2)
    await settled(env)
    first, second = env.rc.open_room_ids()
    env.rc.drop_webhooks = True
    await env.rc.agent_says(second, "perdida no caminho")
    env.rc.fail_next(f"messages.history/{first}", status=200, body="<html>login</html>")
    replayed = await env.parts.reconciler.once()
    assert replayed == 1
    await until(lambda: any("perdida no caminho" in t for t in env.citizen_texts()))
