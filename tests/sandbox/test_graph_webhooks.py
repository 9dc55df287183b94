"""FakeGraph webhooks: Meta's bytes and signature, retries, duplicates, statuses, window."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.graph_wire import make_message_payload, meta_dumps, sign, text_message

from .conftest import ACCESS_TOKEN, APP_SECRET, CITIZEN, PNID, VERIFY_TOKEN, Receiver

Json = dict[str, Any]


def value_of(body: bytes) -> Json:
    value: Json = json.loads(body)["entry"][0]["changes"][0]["value"]
    return value


async def send_text(http: aiohttp.ClientSession, graph: FakeGraph, **extra: Any) -> str:
    body = {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "text",
        "text": {"body": "Recebido!"},
        **extra,
    }
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    url = f"{graph.base_url}/v25.0/{PNID}/messages"
    async with http.post(url, json=body, headers=headers) as response:
        assert response.status == 200
        answer = await response.json()
    return str(answer["messages"][0]["id"])


async def test_inbound_text_is_signed_over_metas_escaped_bytes(
    graph: FakeGraph, receiver: Receiver
) -> None:
    status, wamid = await graph.citizen_says(CITIZEN, "Olá, café ☕ e 😀 em http://x.y/z")
    assert status == 200 and wamid.startswith("wamid.")
    hit = receiver.posts()[0]
    assert b"Ol\\u00e1, caf\\u00e9 \\u2615 e \\ud83d\\ude00 em http:\\/\\/x.y\\/z" in hit.body
    assert hit.body.isascii() and b'": ' not in hit.body and b'", "' not in hit.body
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Hub-Signature-256"] == expected
    assert hit.headers["Content-Type"] == "application/json"
    # A receiver that re-serialises the parsed JSON computes a different signature.
    reserialised = json.dumps(json.loads(hit.body)).encode()
    assert sign(APP_SECRET, reserialised) != expected
    value = value_of(hit.body)
    assert value["metadata"] == {"display_phone_number": "5511999990000", "phone_number_id": PNID}
    assert value["contacts"] == [{"profile": {"name": "Maria da Silva"}, "wa_id": CITIZEN}]
    message = value["messages"][0]
    assert message["from"] == CITIZEN and message["id"] == wamid and message["type"] == "text"
    assert message["timestamp"].isdigit()


async def test_envelope_matches_the_recorded_shape() -> None:
    payload = make_message_payload(wa_id=CITIZEN, message=text_message(CITIZEN, "oi"))
    assert payload["object"] == "whatsapp_business_account"
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "messages" and set(change["value"]) == {
        "messaging_product",
        "metadata",
        "contacts",
        "messages",
    }
    assert meta_dumps({"u": "a/b", "t": "ã"}) == b'{"u":"a\\/b","t":"\\u00e3"}'


async def test_retries_until_exactly_200(graph: FakeGraph, receiver: Receiver) -> None:
    receiver.statuses = [503, 201, 200]
    status, _ = await graph.citizen_says(CITIZEN, "oi")
    assert status == 200
    assert [status for status, _ in graph.webhook_log] == [503, 201, 200]
    bodies = {hit.body for hit in receiver.posts()}
    assert len(bodies) == 1  # the same signed bytes every time


async def test_gives_up_after_the_configured_delays(graph: FakeGraph, receiver: Receiver) -> None:
    receiver.default_status = 500
    status, _ = await graph.citizen_says(CITIZEN, "oi")
    assert status == 500
    assert len(receiver.posts()) == 1 + len(graph.webhook_retry_delays)


async def test_connection_error_is_logged_as_none(graph: FakeGraph) -> None:
    graph.webhook_url = "http://127.0.0.1:9/hook"
    assert await graph.deliver(graph.make_text_payload(CITIZEN, "oi"), retry=False) == 0
    assert graph.webhook_log[0][0] is None


async def test_deliver_duplicates_and_signature_overrides(
    graph: FakeGraph, receiver: Receiver
) -> None:
    body = graph.make_text_payload(CITIZEN, "uma vez só", wamid="wamid.dup-1")
    assert await graph.deliver(body, duplicates=2) == 200
    first, second = receiver.posts()
    assert first.body == second.body == meta_dumps(body)
    await graph.deliver(body, signature="", retry=False)
    assert "X-Hub-Signature-256" not in receiver.posts()[2].headers
    receiver.statuses = [401]
    assert await graph.deliver(body, signature="sha256=" + "0" * 64, retry=False) == 401
    assert receiver.posts()[3].headers["X-Hub-Signature-256"] == "sha256=" + "0" * 64
    assert await graph.deliver(b"not json", retry=False) == 200
    assert await graph.redeliver(0) == 200
    assert receiver.posts()[-1].body == first.body


async def test_verify_handshake(graph: FakeGraph) -> None:
    status, body, challenge = await graph.verify(VERIFY_TOKEN)
    assert (status, body) == (200, challenge) and challenge.isdigit()
    assert (await graph.verify("wrong"))[0] == 403


async def test_statuses_sent_then_delivered_with_pricing_and_opaque_data(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    await graph.citizen_says(CITIZEN, "oi")
    wamid = await send_text(http, graph, biz_opaque_callback_data="rc-msg-42")
    await graph.wait_idle()
    statuses = [value_of(hit.body)["statuses"][0] for hit in receiver.posts()[1:]]
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    for status in statuses:
        assert status["id"] == wamid and status["recipient_id"] == CITIZEN
        assert status["biz_opaque_callback_data"] == "rc-msg-42"
        assert status["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
        assert "conversation" not in status
    assert await graph.citizen_reads(wamid) == 200
    read = value_of(receiver.posts()[-1].body)["statuses"][0]
    assert read["status"] == "read" and "pricing" not in read


async def test_closed_window_is_accepted_then_fails_async_with_131047(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    await graph.citizen_says(CITIZEN, "oi")
    graph.expire_window(CITIZEN)
    wamid = await send_text(http, graph)  # HTTP 200 + wamid: accepted synchronously
    await graph.wait_idle()
    statuses = [value_of(hit.body)["statuses"][0] for hit in receiver.posts()[1:]]
    assert len(statuses) == 1
    failed = statuses[0]
    assert failed["status"] == "failed" and failed["id"] == wamid
    error = failed["errors"][0]
    assert error["code"] == 131047 and error["title"] == "Re-engagement message"
    assert "24 hours" in error["error_data"]["details"]
    await graph.citizen_says(CITIZEN, "voltei")  # a new message reopens the window
    assert graph.window_open(CITIZEN)


async def test_window_is_opened_by_any_delivered_inbound_message(graph: FakeGraph) -> None:
    assert not graph.window_open(CITIZEN)
    await graph.deliver(graph.make_text_payload(CITIZEN, "oi"))
    assert graph.window_open(CITIZEN)


async def test_no_statuses_when_switched_off(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    graph.emit_statuses = False
    graph.open_window(CITIZEN)
    await send_text(http, graph)
    await graph.wait_idle()
    assert receiver.posts() == []


async def test_replies_to_our_buttons_and_lists_carry_context(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    graph.emit_statuses = False
    await graph.citizen_says(CITIZEN, "menu")
    buttons = {
        "type": "button",
        "body": {"text": "Escolha"},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": "menu_2", "title": "Segunda via"}}]
        },
    }
    wamid = await send_text(http, graph, type="interactive", interactive=buttons)
    await graph.citizen_taps_button(CITIZEN, "menu_2", "Segunda via")
    await graph.citizen_picks_row(CITIZEN, "iptu", "IPTU")
    tap, pick = (value_of(hit.body)["messages"][0] for hit in receiver.posts()[1:])
    assert tap["context"] == {"from": "5511999990000", "id": wamid}
    assert tap["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "menu_2", "title": "Segunda via"},
    }
    assert "context" not in pick  # no list of ours offered that row
    assert pick["interactive"]["list_reply"] == {"id": "iptu", "title": "IPTU"}


async def test_location_message_shape(graph: FakeGraph, receiver: Receiver) -> None:
    await graph.citizen_sends_location(
        CITIZEN, -23.55, -46.63, place="Praça da Sé", address="São Paulo"
    )
    message = value_of(receiver.posts()[0].body)["messages"][0]
    assert message["location"] == {
        "latitude": -23.55,
        "longitude": -46.63,
        "name": "Praça da Sé",
        "address": "São Paulo",
        "url": "https://maps.google.com/?q=-23.55,-46.63",
    }
    await graph.citizen_sends_location(CITIZEN, 1.5, 2.5)  # "current location": no place
    assert value_of(receiver.posts()[1].body)["messages"][0]["location"] == {
        "latitude": 1.5,
        "longitude": 2.5,
    }
