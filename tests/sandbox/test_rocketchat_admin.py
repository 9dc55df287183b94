"""FakeRocketChat service-account routes, rate limiter and scripted faults (§1.3, §1.4, §3)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bridge.sandbox.rocketchat import FakeRocketChat

from .conftest import Receiver
from .rc_helpers import BOT, call, conversation, room, visitor

Http = aiohttp.ClientSession
LOGIN = "You must be logged in to do this."


async def test_authenticated_routes_need_the_service_account(
    http: Http, rc: FakeRocketChat
) -> None:
    wrong = {"X-User-Id": "bridgebot-id", "X-Auth-Token": "nope"}
    for headers in (None, wrong):
        status, body, _ = await call(
            http, rc, "GET", "/api/v1/livechat/department", headers=headers
        )
        assert status == 401
        assert body == {"success": False, "error": LOGIN, "status": "error", "message": LOGIN}
    rc.version = "9.0.0"
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/department")
    assert body == {"success": False, "error": LOGIN}
    status, body, _ = await call(http, rc, "GET", "/api/v1/livechat/department", headers=BOT)
    assert status == 200 and body["departments"][0]["name"] == "Atendimento"
    assert body["total"] == 1


async def test_save_info_records_topic_tags_and_room_fields(http: Http, rc: FakeRocketChat) -> None:
    rc.define_custom_field("service", "room")
    rid = await conversation(http, rc, "tok")
    guest_id = rc.visitors["tok"]["_id"]
    body = {
        "roomData": {
            "_id": rid,
            "topic": "IPTU 2ª via",
            "tags": ["iptu", "urgente"],
            "livechatData": {"service": " IPTU ", "unknown": "x"},
        },
        "guestData": {"_id": guest_id, "name": "Maria S."},
    }
    status, answer, _ = await call(
        http, rc, "POST", "/api/v1/livechat/room.saveInfo", body=body, headers=BOT
    )
    assert (status, answer) == (200, {"success": True})
    saved = rc.rooms[rid]
    assert saved["topic"] == "IPTU 2ª via" and saved["tags"] == ["iptu", "urgente"]
    assert saved["livechatData"] == {"service": "IPTU"} and saved["fname"] == "Maria S."
    _, bad, _ = await call(
        http,
        rc,
        "POST",
        "/api/v1/livechat/room.saveInfo",
        body={"roomData": {"_id": rid}},
        headers=BOT,
    )
    assert bad["error"] == "must have required property 'guestData' [invalid-params]"


async def test_close_by_user(http: Http, rc: FakeRocketChat, receiver: Receiver) -> None:
    rid = await conversation(http, rc, "tok")
    path = "/api/v1/livechat/room.closeByUser"
    _, body, _ = await call(http, rc, "POST", path, body={"rid": rid}, headers=BOT)
    assert body == {"success": False, "error": "error-comment-is-required"}
    _, body, _ = await call(http, rc, "POST", path, body={"rid": "x", "comment": "c"}, headers=BOT)
    assert body["error"] == "error-invalid-room"
    status, body, _ = await call(
        http, rc, "POST", path, body={"rid": rid, "comment": "fim"}, headers=BOT
    )
    assert status == 200 and rc.rooms[rid]["closedBy"]["_id"] == "bridgebot-id"
    _, body, _ = await call(http, rc, "POST", path, body={"rid": rid, "comment": "c"}, headers=BOT)
    assert body["error"] == "error-room-already-closed"
    await rc.wait_webhooks_idle()
    assert rc.webhook_log[-1] == ("LivechatSession", 200)


async def test_rooms_listing(http: Http, rc: FakeRocketChat) -> None:
    first = await conversation(http, rc, "a", phone="+551100000001")
    second = await conversation(http, rc, "b", phone="+551100000002")
    await rc.close_room(first)
    _, body, _ = await call(
        http, rc, "GET", "/api/v1/livechat/rooms", params={"open": "true"}, headers=BOT
    )
    assert [r["_id"] for r in body["rooms"]] == [second] and body["total"] == 1


async def test_integrations_configure_the_webhook(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    path = "/api/v1/omnichannel/integrations"
    _, body, _ = await call(http, rc, "POST", path, body={"Nope": True}, headers=BOT)
    assert body["errorType"] == "invalid-params"
    settings = {
        "LivechatWebhookUrl": f" {receiver.url} ",
        "LivechatSecretToken": "s3",
        "LivechatHttpTimeout": 2000,
        "LivechatWebhookOnVisitorMessage": True,
        "LivechatWebhookOnChatTaken": False,
    }
    status, _, _ = await call(http, rc, "POST", path, body=settings, headers=BOT)
    assert status == 200 and rc.webhook_url == receiver.url and rc.webhook_token == "s3"
    assert rc.webhook_timeout == 2.0 and "Message visitor" in rc.webhook_events
    assert "LivechatSessionTaken" not in rc.webhook_events


async def test_rate_limiter_429_and_headers(http: Http, rc: FakeRocketChat) -> None:
    path = "/api/v1/livechat/visitor"
    for n in range(5):
        status, _, headers = await call(http, rc, "POST", path, body={"visitor": {"token": "t"}})
        assert status == 200
        assert headers["X-RateLimit-Limit"] == "5"
        assert headers["X-RateLimit-Remaining"] == str(4 - n)
    status, body, headers = await call(http, rc, "POST", path, body={"visitor": {"token": "t"}})
    assert status == 429
    assert body == {
        "success": False,
        "error": (
            "Error, too many requests. Please slow down. You must wait 60 seconds before trying "
            "this endpoint again. [error-too-many-requests]"
        ),
    }
    assert int(headers["X-RateLimit-Reset"]) > time.time() * 1000
    # Other routes have their own bucket (10 per window).
    status, _, headers = await call(http, rc, "GET", "/api/v1/livechat/visitor/t")
    assert status == 200 and headers["X-RateLimit-Limit"] == "10"


async def test_rate_limit_window_and_switch(http: Http, rc: FakeRocketChat) -> None:
    rc.rate_limit_window = 0.2
    path = "/api/v1/livechat/visitor/t"
    statuses = [(await call(http, rc, "GET", path))[0] for _ in range(11)]
    assert statuses[-1] == 429 and rc.failed_requests == 1
    await asyncio.sleep(0.25)
    assert (await call(http, rc, "GET", path))[0] == 400  # allowed again: unknown token
    rc.rate_limiter = False
    statuses = [(await call(http, rc, "GET", path))[0] for _ in range(12)]
    assert 429 not in statuses


async def test_set_down_and_scripted_failures(http: Http, rc: FakeRocketChat) -> None:
    await visitor(http, rc, "tok")
    rc.set_down(True)
    status, body, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "tok"})
    assert (status, body) == (503, {"success": False, "error": "Internal server error"})
    rc.set_down(False)
    rc.fail_next("livechat/room", status=500, count=2)
    rc.fail_next("livechat/message", status=400, body={"success": False, "error": "custom"})
    for _ in range(2):
        assert (await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "tok"}))[
            0
        ] == 500
    created = await room(http, rc, "tok")
    _, body, _ = await call(
        http,
        rc,
        "POST",
        "/api/v1/livechat/message",
        body={"token": "tok", "rid": created["_id"], "msg": "x"},
    )
    assert body == {"success": False, "error": "custom"}
    assert rc.failed_requests == 3


async def test_seed_visitor_forces_the_token_swap(http: Http, rc: FakeRocketChat) -> None:
    rc.seed_visitor(token="legacy", phone="+5511987654321", name="Maria")
    registered = await visitor(http, rc, "derived-token", phone="+5511987654321")
    assert registered["token"] == "legacy"


async def test_department_creation_hits_the_community_edition_limit(
    http: Http, rc: FakeRocketChat
) -> None:
    department = {
        "name": "Tributos",
        "enabled": True,
        "showOnRegistration": True,
        "showOnOfflineForm": False,
        "email": "",
    }
    path = "/api/v1/livechat/department"
    _, body, _ = await call(http, rc, "POST", path, body={"department": department}, headers=BOT)
    assert body["errorType"] == "error-max-departments-number-reached"
    rc.enterprise = True
    status, body, _ = await call(
        http, rc, "POST", path, body={"department": department}, headers=BOT
    )
    assert status == 200 and body["department"]["name"] == "Tributos" and body["agents"] == []
    assert rc.store.department("Tributos") is not None
    _, body, _ = await call(http, rc, "POST", path, body={"department": {"name": "x"}}, headers=BOT)
    assert body["error"].startswith("Match error: Missing key")


async def test_integration_settings_round_trip_and_webhook_test(
    http: Http, rc: FakeRocketChat, receiver: Receiver
) -> None:
    settings = {"LivechatHttpTimeout": 5000, "LivechatWebhookOnAgentMessage": True}
    await call(http, rc, "POST", "/api/v1/omnichannel/integrations", body=settings, headers=BOT)
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/integrations.settings", headers=BOT)
    values = {item["_id"]: item["value"] for item in body["settings"]}
    assert values["Livechat_webhookUrl"] == receiver.url
    assert values["Livechat_http_timeout"] == 5000
    assert values["Livechat_webhook_on_agent_message"] is True
    assert values["Livechat_webhook_on_visitor_message"] is False
    path = "/api/v1/livechat/webhook.test"
    status, body, _ = await call(http, rc, "POST", path, headers=BOT)
    assert (status, body) == (200, {"success": True})
    sample = receiver.posts()[-1]
    assert sample.headers["X-RocketChat-Livechat-Token"] == "rc-webhook-secret"
    receiver.statuses = [204]  # only an exact 200 counts
    _, body, _ = await call(http, rc, "POST", path, headers=BOT)
    assert body == {"success": False, "error": "error-invalid-webhook-response"}
    rc.webhook_url = None
    _, body, _ = await call(http, rc, "POST", path, headers=BOT)
    assert body["error"] == "Webhook_URL_not_set"
