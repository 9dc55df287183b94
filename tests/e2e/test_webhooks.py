"""The bridge's HTTP surface over real HTTP: recorded payloads, malformed and oversized
bodies, Meta's verification handshake, Rocket.Chat's token, health endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import pytest

from bridge.core.model import CitizenMessage
from bridge.sandbox.graph_wire import meta_dumps, sign
from bridge.whatsapp import wire
from tests.support.e2e import (
    APP_SECRET,
    CITIZEN,
    PNID,
    RC_TOKEN,
    VERIFY_TOKEN,
    Env,
    settled,
    until,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"
RECORDED = sorted(FIXTURES.rglob("*.json"))
MAX_BODY = 16 * 1024


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"bridge_max_body_bytes": MAX_BODY}


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.read()


async def post_signed(env: Env, body: bytes) -> tuple[int, bytes]:
    signature = {"X-Hub-Signature-256": sign(APP_SECRET, body)}
    return await post(f"{env.url}/webhooks/whatsapp", body, signature)


async def rejected(env: Env) -> list[tuple[str, str, bytes]]:
    async with (
        aiosqlite.connect(env.settings.bridge_db) as conn,
        conn.execute("SELECT source, reason, body FROM rejected_payload ORDER BY id") as cursor,
    ):
        return [(row[0], row[1], bytes(row[2])) for row in await cursor.fetchall()]


async def counter(env: Env, name: str, label: str) -> int:
    rows = [(c.day, c.name, c.label, c.value) for c in await env.parts.store.counters()]
    return sum(value for _, n, lab, value in rows if (n, lab) == (name, label))


def test_the_recorded_fixtures_are_there() -> None:
    assert len(RECORDED) >= 19, RECORDED


def load(path: Path) -> dict[str, Any]:
    cases: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def to_our_number(payload: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The payload addressed to the bridge's number, with every message id made unique:
    pywa's cases share `wamid.xyzxyz`, so verbatim they are (rightly) deduplicated after
    the first one, and they were recorded for other numbers."""
    copy: dict[str, Any] = json.loads(json.dumps(payload))
    for entry in copy.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if isinstance(value.get("metadata"), dict):
                value["metadata"]["phone_number_id"] = PNID
            for message in value.get("messages") or []:
                message["id"] = f"{message.get('id')}.{suffix}"
    return copy


def citizen_messages(bodies: list[bytes]) -> set[str]:
    """The distinct citizen messages in these bodies, as the bridge's parser reads them."""
    items = [item for body in bodies for item in wire.parse(body)]
    return {item.wamid for item in items if isinstance(item, CitizenMessage)}


@pytest.mark.parametrize("cases", [load(p) for p in RECORDED], ids=[p.name for p in RECORDED])
async def test_every_recorded_payload_is_answered_200(env: Env, cases: dict[str, Any]) -> None:
    recorded: list[bytes] = []
    ours: list[bytes] = []
    for name, payload in cases.items():
        # As Meta sends it (\uXXXX and \/ escapes) and the same JSON as plain UTF-8 (the
        # signature covers whichever bytes arrive): recorded for other numbers, so kept
        # for audit and not relayed. Then addressed to our number with unique message ids,
        # so that every message kind goes all the way to the room.
        recorded += [meta_dumps(payload), json.dumps(payload, ensure_ascii=False).encode()]
        ours.append(meta_dumps(to_our_number(payload, name)))
    for body in recorded + ours:
        assert await env.graph.deliver(body, retry=False) == 200, body
    await settled(env)
    statuses = [status for status, _ in env.graph.webhook_log]
    assert statuses == [200] * len(statuses)  # statuses of our own replies included
    assert "dead" not in await env.parts.store.outbox_depth()
    relayed = sum(len(env.rc.visitor_messages(rid)) - 1 for rid in env.rc.rooms)  # - transcript
    assert relayed == len(citizen_messages(ours))
    other = [body for _, reason, body in await rejected(env) if reason.startswith("other number")]
    assert len(other) == sum(bool(citizen_messages([body])) for body in recorded)


async def test_unknown_or_malformed_signed_payloads_are_200_and_recorded(env: Env) -> None:
    no_sender = env.graph.make_text_payload(CITIZEN, "sem remetente")
    del no_sender["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    with_errors = env.graph.make_text_payload(CITIZEN, "x")
    value = with_errors["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["errors"] = [{"code": 131051, "title": "Message type unknown"}]
    bodies = [
        b"not json at all",
        b"\xff\xfe\x00 binary",
        b"[]",
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "instagram", "entry": []}',
        meta_dumps(no_sender),
        meta_dumps(with_errors),
    ]
    for body in bodies:
        status, answer = await post_signed(env, body)
        assert status == 200, (body, answer)
    await settled(env)
    recorded = await rejected(env)
    # A whole body when the envelope is unusable; otherwise the unusable item's own JSON.
    items = [
        no_sender["entry"][0]["changes"][0]["value"]["messages"][0],
        value["errors"][0],
    ]
    expected = bodies[:5] + [json.dumps(i, separators=(",", ":")).encode() for i in items]
    assert [(source, body) for source, _, body in recorded] == [("whatsapp", b) for b in expected]
    assert [reason.split(":")[0] for _, reason, _ in recorded[:4]] == ["malformed"] * 4
    assert await counter(env, "rejected_payload", "whatsapp") == len(bodies)
    assert env.rc.rooms == {} and env.graph.sent == []

    garbage = b'{"_id": 42, "type": ["Message"]}'
    status, answer = await post(
        f"{env.url}/webhooks/rocketchat", garbage, {"X-RocketChat-Livechat-Token": RC_TOKEN}
    )
    assert (status, answer) == (200, b"{}")
    assert (await rejected(env))[-1][0::2] == ("rocketchat", garbage)
    assert await counter(env, "rejected_payload", "rocketchat") == 1


async def test_a_body_over_the_limit_gets_413_and_one_at_the_limit_does_not(env: Env) -> None:
    def padded(size: int) -> bytes:
        head, tail = b'{"object": "padding", "entry": [], "pad": "', b'"}'
        return head + b"a" * (size - len(head) - len(tail)) + tail

    at_limit, over = padded(MAX_BODY), padded(MAX_BODY + 1)
    assert len(at_limit) == MAX_BODY
    assert (await post_signed(env, over))[0] == 413
    assert (await post_signed(env, at_limit))[0] == 200
    rc_headers = {"X-RocketChat-Livechat-Token": RC_TOKEN}
    assert (await post(f"{env.url}/webhooks/rocketchat", over, rc_headers))[0] == 413
    assert [body for _, _, body in await rejected(env)] == [at_limit]


async def test_verification_handshake(env: Env) -> None:
    status, body, challenge = await env.graph.verify(VERIFY_TOKEN)
    assert (status, body) == (200, challenge)
    status, body, challenge = await env.graph.verify("wrong-token")
    assert status == 403 and challenge not in body
    assert (await env.graph.verify(""))[0] == 403
    query = {"hub.mode": "unsubscribe", "hub.challenge": "123", "hub.verify_token": VERIFY_TOKEN}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{env.url}/webhooks/whatsapp", params=query) as response,
    ):
        assert response.status == 403
        assert "123" not in await response.text()


async def test_rocketchat_webhook_needs_its_token_and_answers_a_tiny_200(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await until(lambda: len(env.room_texts(rid)) == 2)
    await env.rc.wait_webhooks_idle()
    assert {status for _, status in env.rc.webhook_log} == {200}
    assert env.rc.rooms[rid]["crmData"] == "{}"  # what we answer is stored on the room

    env.rc.drop_webhooks = True
    await env.rc.agent_says(rid, "só com a senha certa")
    payload = json.dumps(env.rc.dropped_webhooks[-1]).encode()
    url = f"{env.url}/webhooks/rocketchat"
    for headers in (
        {"X-RocketChat-Livechat-Token": "wrong"},
        {"X-RocketChat-Livechat-Token": ""},
        {"X-RocketChat-Livechat-Token": RC_TOKEN + "x"},
        {},
    ):
        assert (await post(url, payload, headers))[0] == 401, headers
    await settled(env)
    assert env.citizen_texts() == []

    status, answer = await post(url, payload, {"X-RocketChat-Livechat-Token": RC_TOKEN})
    assert (status, answer) == (200, b"{}")
    await until(lambda: env.citizen_texts() == ["*Ana Souza*: só com a senha certa"])


async def test_health_and_readiness(env: Env) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{env.url}/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})

        async def ready() -> tuple[int, dict[str, Any]]:
            async with http.get(f"{env.url}/readyz") as response:
                return response.status, await response.json()

        status, body = await ready()
        assert status == 200 and body["ready"] is True
        assert body["checks"] == {
            "database": True,
            "whatsapp": True,
            "rocketchat": True,
            "workers": True,
        }

        env.rc.set_down(True)
        await env.graph.citizen_says(CITIZEN, "alô?")
        await until(lambda: env.rc.failed_requests >= 1)
        status, body = await ready()
        assert status == 503 and body["checks"]["rocketchat"] is False
        assert body["outbox"].get("pending", 0) >= 1
        async with http.get(f"{env.url}/healthz") as response:
            assert response.status == 200  # alive, only not ready

        env.rc.set_down(False)
        await until(lambda: bool(env.rc.open_room_ids()))
        await settled(env)
        status, body = await ready()
        assert status == 200 and body["ready"] is True and body["outbox"] == {}
