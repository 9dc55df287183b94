"""FakeRocketChat webhooks: payloads of §4.3/§4.4 and the 8.x delivery rules of §4.2."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bridge.sandbox.rocketchat import FakeRocketChat

from .conftest import RC_SECRET, Receiver
from .rc_helpers import conversation, say

Http = aiohttp.ClientSession
Json = dict[str, Any]


def payloads(receiver: Receiver) -> list[Json]:
    return [json.loads(hit.body) for hit in receiver.posts()]


def of_type(receiver: Receiver, kind: str) -> list[Json]:
    return [p for p in payloads(receiver) if p["type"] == kind]


async def test_room_creation_sends_session_taken(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await rc.wait_webhooks_idle()
    (taken,) = payloads(receiver)
    assert taken["type"] == "LivechatSessionTaken" and taken["_id"] == rid
    assert taken["servedBy"]["username"] == "ana" and taken["agent"]["name"] == "Ana Souza"
    assert taken["visitor"]["token"] == "tok"
    assert taken["visitor"]["phone"] == [{"phoneNumber": "+5511987654321"}]
    assert receiver.posts()[0].headers["X-RocketChat-Livechat-Token"] == RC_SECRET


async def test_agent_message_webhook(http: Http, rc: FakeRocketChat, receiver: Receiver) -> None:
    rid = await conversation(http, rc, "tok")
    msg_id = await rc.agent_says(rid, "Bom dia! Posso ajudar?", agent_name="Ana Souza")
    await rc.wait_webhooks_idle()
    (event,) = of_type(receiver, "Message")
    (message,) = event["messages"]
    assert message["_id"] == msg_id and message["msg"] == "Bom dia! Posso ajudar?"
    assert message["username"] == "ana" and message["agentId"] == message["u"]["_id"]
    assert message["u"]["name"] == "Ana Souza" and message["rid"] == rid
    assert message["ts"].endswith("Z") and message["_updatedAt"]
    assert "editedAt" not in message
    await rc.agent_edits(rid, msg_id, "Bom dia!")
    await rc.wait_webhooks_idle()
    edited = of_type(receiver, "Message")[-1]["messages"][0]
    assert edited["_id"] == msg_id and edited["msg"] == "Bom dia!" and edited["editedAt"]


async def test_visitor_echo_is_off_by_default_and_has_no_agent_id(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await say(http, rc, "tok", rid, "oi")
    await rc.wait_webhooks_idle()
    assert of_type(receiver, "Message") == []
    rc.webhook_events.add("Message visitor")
    await say(http, rc, "tok", rid, "de novo")
    await rc.wait_webhooks_idle()
    (echo,) = of_type(receiver, "Message")
    assert echo["messages"][0]["msg"] == "de novo" and "agentId" not in echo["messages"][0]


async def test_agent_file_has_no_msg_key_and_an_absolute_public_path(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await rc.agent_sends_file(
        rid, b"%PDF", "guia IPTU.pdf", "application/pdf", description="sua guia"
    )
    await rc.wait_webhooks_idle()
    (message,) = of_type(receiver, "Message")[0]["messages"]
    assert "msg" not in message
    assert (
        message["file"]["name"] == "guia IPTU.pdf" and message["file"]["type"] == "application/pdf"
    )
    attachment = message["attachments"][0]
    assert attachment["title_link"].startswith("/file-upload/")  # relative
    assert attachment["description"] == "sua guia"
    public = message["fileUpload"]["publicFilePath"]
    assert public.startswith(rc.base_url + "/file-upload/") and "?token=" in public
    async with http.get(public) as response:
        assert response.status == 200 and await response.read() == b"%PDF"


async def test_close_sends_one_session_event_with_the_transcript(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await say(http, rc, "tok", rid, "oi")
    await rc.agent_says(rid, "olá")
    await rc.close_room(rid, comment="Resolvido")
    await rc.wait_webhooks_idle()
    (closed,) = of_type(receiver, "LivechatSession")
    assert closed["closer"] == "user" and closed["closedBy"]["username"] == "ana"
    assert closed["closedAt"] and closed["servedBy"]["username"] == "ana"
    texts = [(m.get("msg"), "agentId" in m, m.get("closingMessage")) for m in closed["messages"]]
    assert texts == [("oi", False, None), ("olá", True, None), ("Resolvido", True, True)]
    assert rc.messages(rid)[-1]["t"] == "livechat-close" and rc.rooms[rid]["open"] is False


async def test_forward_carries_old_department(http: Http, receiver: Receiver) -> None:
    rc = FakeRocketChat(webhook_url=receiver.url, departments=("Atendimento", "Tributos"))
    await rc.start()
    try:
        rid = await conversation(http, rc, "tok")
        await rc.forward_room(rid, "Tributos")
        await rc.wait_webhooks_idle()
        (forwarded,) = of_type(receiver, "LivechatSessionForwarded")
        first, second = (d["_id"] for d in rc.store.departments)
        assert forwarded["departmentId"] == second and forwarded["oldDepartmentId"] == first
        assert "X-RocketChat-Livechat-Token" not in receiver.posts()[0].headers
    finally:
        await rc.close()


async def test_retry_on_503_then_success_stores_crm_data(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await rc.wait_webhooks_idle()
    receiver.statuses = [503, 429, 200]
    receiver.answer_body = '{"ok":1}'
    await rc.agent_says(rid, "oi")
    await rc.wait_webhooks_idle()
    assert rc.webhook_log[-3:] == [("Message", 503), ("Message", 429), ("Message", 200)]
    accepted = [hit for hit in receiver.posts()[1:]]
    assert len({hit.body for hit in accepted}) == 1  # the same event, accepted once (200)
    assert rc.rooms[rid]["crmData"] == '{"ok":1}'
    await rc.agent_says(rid, "de novo")
    await rc.wait_webhooks_idle()
    assert payloads(receiver)[-1]["crmData"] == '{"ok":1}'


async def test_no_retry_on_4xx_and_five_attempts_on_5xx(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await rc.wait_webhooks_idle()
    receiver.statuses = [400]
    await rc.agent_says(rid, "uma")
    await rc.wait_webhooks_idle()
    assert rc.webhook_log[-1] == ("Message", 400) and len(receiver.posts()) == 2
    receiver.default_status = 500
    await rc.agent_says(rid, "duas")
    await rc.wait_webhooks_idle()
    assert rc.webhook_log[-5:] == [("Message", 500)] * 5 and len(receiver.posts()) == 7


async def test_network_errors_are_retried(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    rc.webhook_url = "http://127.0.0.1:9/hook"
    await rc.agent_says(rid, "oi")
    await rc.wait_webhooks_idle()
    assert rc.webhook_log[-5:] == [("Message", None)] * 5


async def test_dropped_webhooks_and_redelivery(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    rid = await conversation(http, rc, "tok")
    await rc.wait_webhooks_idle()
    rc.drop_webhooks = True
    await rc.agent_says(rid, "perdida")
    await rc.wait_webhooks_idle()
    assert len(receiver.posts()) == 1 and rc.dropped_webhooks[0]["type"] == "Message"
    rc.drop_webhooks = False
    await rc.redeliver_last_webhook()
    await rc.redeliver_last_webhook()
    await rc.wait_webhooks_idle()
    first, second = receiver.posts()[1:]
    assert first.body == second.body and json.loads(first.body)["messages"][0]["msg"] == "perdida"
