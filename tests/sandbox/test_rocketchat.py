"""FakeRocketChat visitor REST over real HTTP: validation, errors and state (§2)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bridge.sandbox.rocketchat import FakeRocketChat

from .rc_helpers import call, conversation, room, say, visitor

Http = aiohttp.ClientSession
V = "/api/v1/livechat/visitor"


async def test_api_info_gives_major_minor(http: Http, rc: FakeRocketChat) -> None:
    status, body, _ = await call(http, rc, "GET", "/api/info")
    assert status == 200 and body["version"] == "8.6" and body["success"] is True


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "Match error: Missing key 'visitor'"),
        ({"visitor": {}}, "Match error: Missing key 'token' in field visitor"),
        (
            {"visitor": {"token": 5}},
            "Match error: Expected string, got number in field visitor.token",
        ),
        ({"visitor": {"token": "   "}}, "Token cannot be empty [error-invalid-token]"),
    ],
)
async def test_visitor_registration_errors(
    http: Http, rc: FakeRocketChat, payload: Any, error: str
) -> None:
    status, body, _ = await call(http, rc, "POST", V, body=payload)
    assert status == 400 and body["success"] is False and body["error"] == error


async def test_new_visitor_shape(http: Http, rc: FakeRocketChat) -> None:
    created = await visitor(
        http,
        rc,
        "tok-1",
        name="Maria",
        phone="+5511987654321",
        email="Maria@Example.org",
        department="Atendimento",
    )
    assert created["token"] == "tok-1" and created["status"] == "online"
    assert created["username"].startswith("guest-") and created["contactId"]
    assert created["phone"] == [{"phoneNumber": "+5511987654321"}]
    assert created["visitorEmails"] == [{"address": "maria@example.org"}]
    assert created["department"] == rc.store.departments[0]["_id"]
    status, body, _ = await call(http, rc, "GET", f"{V}/tok-1")
    assert status == 200 and body["visitor"]["_id"] == created["_id"]


async def test_phone_match_returns_the_old_visitor_and_token(
    http: Http, rc: FakeRocketChat
) -> None:
    first = await visitor(http, rc, "old-token", phone="+5511987654321")
    second = await visitor(http, rc, "new-token", phone="+5511987654321", name="Maria")
    assert second["token"] == "old-token" and second["_id"] == first["_id"]
    assert "new-token" not in rc.visitors and rc.visitors["old-token"]["name"] == "Maria"


async def test_custom_fields_only_for_defined_visitor_fields(
    http: Http, rc: FakeRocketChat
) -> None:
    rc.define_custom_field("cpf", "visitor")
    rc.define_custom_field("service", "room")
    fields = [
        {"key": "cpf", "value": "123", "overwrite": True},
        {"key": "service", "value": "IPTU", "overwrite": True},
        {"key": "unknown", "value": "x", "overwrite": True},
    ]
    created = await visitor(http, rc, "tok", customFields=fields)
    assert created["livechatData"] == {"cpf": "123"}
    keep = [{"key": "cpf", "value": "999", "overwrite": False}]
    assert (await visitor(http, rc, "tok", customFields=keep))["livechatData"] == {"cpf": "123"}


async def test_unknown_department_error_depends_on_version(http: Http, rc: FakeRocketChat) -> None:
    payload = {"visitor": {"token": "t", "department": "Nope"}}
    _, body, _ = await call(http, rc, "POST", V, body=payload)
    assert body == {"success": False, "error": "error-invalid-department"}
    rc.version = "7.10.0"
    _, body, _ = await call(http, rc, "POST", V, body=payload)
    assert body["error"] == "The provided department is invalid [error-invalid-department]"
    assert body["errorType"] == "error-invalid-department"


async def test_unknown_visitor_token(http: Http, rc: FakeRocketChat) -> None:
    status, body, _ = await call(http, rc, "GET", f"{V}/nobody")
    assert (status, body["error"], body["errorType"]) == (400, "[invalid-token]", "invalid-token")


async def test_room_is_created_once_and_served(http: Http, rc: FakeRocketChat) -> None:
    await visitor(http, rc, "tok", name="Maria")
    status, body, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "tok"})
    created = body["room"]
    assert status == 200 and body["newRoom"] is True
    assert created["t"] == "l" and created["open"] is True and created["v"]["token"] == "tok"
    assert created["servedBy"]["username"] == "ana" and created["source"] == {"type": "api"}
    assert created["departmentId"] == rc.store.departments[0]["_id"]
    _, again, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "tok"})
    assert again["room"]["_id"] == created["_id"] and again["newRoom"] is False
    params = {"token": "tok", "rid": "bogus"}
    _, bad, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params=params)
    assert bad == {"success": False, "error": "invalid-room"}
    params = {"token": "tok", "foo": "1"}
    _, extra, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params=params)
    assert extra["error"] == "Match error: Unknown key in field foo"


async def test_no_agent_online(http: Http, rc: FakeRocketChat) -> None:
    rc.agents_online = False
    await visitor(http, rc, "tok")
    status, body, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "tok"})
    assert status == 400
    assert body == {
        "success": False,
        "error": "Sorry, no online agents [no-agent-online]",
        "errorType": "no-agent-online",
    }
    assert rc.rooms == {}
    rc.accept_with_no_agents = True
    queued = await room(http, rc, "tok")
    assert "servedBy" not in queued and queued["open"] is True


async def test_unknown_token_for_room(http: Http, rc: FakeRocketChat) -> None:
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": "x"})
    assert body == {"success": False, "error": "invalid-token"}


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"drop": "token"}, "must have required property 'token' [invalid-params]"),
        ({"add": {"foo": 1}}, "must NOT have additional properties [invalid-params]"),
        ({"add": {"msg": 5}}, "must be string [invalid-params]"),
    ],
)
async def test_message_body_is_strict(
    http: Http, rc: FakeRocketChat, extra: dict[str, Any], error: str
) -> None:
    rid = await conversation(http, rc, "tok")
    body: dict[str, Any] = {"token": "tok", "rid": rid, "msg": "oi"}
    body.pop(extra.get("drop", ""), None)
    body.update(extra.get("add", {}))
    status, answer, _ = await call(http, rc, "POST", "/api/v1/livechat/message", body=body)
    assert status == 400
    assert answer == {"success": False, "error": error, "errorType": "invalid-params"}


async def test_message_errors_in_server_order(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    other = await conversation(http, rc, "other", phone="+5521999990000")
    assert (await say(http, rc, "nobody", rid, "oi"))[1] == {
        "success": False,
        "error": "invalid-token",
    }
    assert (await say(http, rc, "tok", other, "oi"))[1]["error"] == "invalid-room"
    await rc.close_room(rid)
    assert (await say(http, rc, "tok", rid, "oi"))[1] == {"success": False, "error": "room-closed"}


async def test_message_with_client_id_and_duplicate(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    status, body = await say(http, rc, "tok", rid, "Olá, café ☕", _id="wamid.abc")
    message = body["message"]
    assert status == 200 and message["_id"] == "wamid.abc" and message["token"] == "tok"
    assert message["alias"] == "Maria da Silva" and message["msg"] == "Olá, café ☕"
    assert message["u"]["username"].startswith("guest-") and message["rid"] == rid
    status, body = await say(http, rc, "tok", rid, "again", _id="wamid.abc")
    assert status == 200 and body["message"]["msg"] == "Olá, café ☕"  # 8.x: the stored one
    rc.version = "7.10.3"
    status, body = await say(http, rc, "tok", rid, "again", _id="wamid.abc")
    assert (status, body["error"]) == (400, "Cannot convert undefined or null to object")
    assert [m["msg"] for m in rc.visitor_messages(rid)] == ["Olá, café ☕"]


async def test_get_one_message(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    _, sent = await say(http, rc, "tok", rid, "oi")
    path = f"/api/v1/livechat/message/{sent['message']['_id']}"
    _, body, _ = await call(http, rc, "GET", path, params={"token": "tok", "rid": rid})
    assert body["message"]["msg"] == "oi"
    _, body, _ = await call(http, rc, "GET", path, params={"token": "tok"})
    assert body["error"] == "must have required property 'rid' [invalid-params]"
    _, body, _ = await call(
        http, rc, "GET", "/api/v1/livechat/message/nope", params={"token": "tok", "rid": rid}
    )
    assert body["error"] == "invalid-message"


async def test_history_newest_first_with_system_messages(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    await say(http, rc, "tok", rid, "test")
    await rc.agent_says(rid, "resposta")
    path = f"/api/v1/livechat/messages.history/{rid}"
    _, body, _ = await call(http, rc, "GET", path, params={"token": "tok"})
    messages = body["messages"]
    assert [m.get("msg") for m in messages[:2]] == ["resposta", "test"]
    assert "token" not in messages[0] and messages[1]["token"] == "tok"
    assert messages[-1]["t"] == "livechat-started"
    _, page, _ = await call(
        http, rc, "GET", path, params={"token": "tok", "offset": "1", "limit": "1"}
    )
    assert [m["msg"] for m in page["messages"]] == ["test"]
    end = messages[0]["ts"]
    _, before, _ = await call(http, rc, "GET", path, params={"token": "tok", "end": end})
    assert before["messages"][0]["msg"] == "test"
    await rc.close_room(rid)
    _, closed, _ = await call(http, rc, "GET", path, params={"token": "tok"})
    assert closed["messages"][0]["t"] == "livechat-close"
    _, missing, _ = await call(http, rc, "GET", path)
    assert missing["errorType"] == "error-token-param-not-provided"


async def test_config(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/config", params={"token": "tok"})
    config = body["config"]
    assert config["enabled"] is True and config["online"] is True
    assert config["departments"][0]["name"] == "Atendimento"
    assert config["guest"]["token"] == "tok" and config["room"]["_id"] == rid
    rc.agents_online = False
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/config")
    assert body["config"]["online"] is False and "guest" not in body["config"]
    _, body, _ = await call(http, rc, "GET", "/api/v1/livechat/config", params={"x": "1"})
    assert body["errorType"] == "invalid-params"


async def test_visitor_closes_the_room(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    path = "/api/v1/livechat/room.close"
    status, body, _ = await call(http, rc, "POST", path, body={"rid": rid, "token": "tok"})
    assert (status, body) == (200, {"rid": rid, "comment": "Closed by visitor", "success": True})
    assert rc.rooms[rid]["open"] is False and rc.rooms[rid]["closer"] == "visitor"
    _, again, _ = await call(http, rc, "POST", path, body={"rid": rid, "token": "tok"})
    assert again["error"] == "room-closed"
    assert rc.room_for_token("tok") == rc.rooms[rid] and rc.open_room_ids() == []
