"""Small HTTP helpers for the Rocket.Chat fake's tests."""

from __future__ import annotations

from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bridge.sandbox.rocketchat import FakeRocketChat

Json = dict[str, Any]
BOT = {"X-User-Id": "bridgebot-id", "X-Auth-Token": "bridgebot-token"}


async def call(
    http: aiohttp.ClientSession,
    rc: FakeRocketChat,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Json, CIMultiDictProxy[str]]:
    async with http.request(
        method, rc.base_url + path, json=body, params=params, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None), response.headers


async def visitor(
    http: aiohttp.ClientSession, rc: FakeRocketChat, token: str, **fields: Any
) -> Json:
    status, body, _ = await call(
        http, rc, "POST", "/api/v1/livechat/visitor", body={"visitor": {"token": token, **fields}}
    )
    assert status == 200, body
    result: Json = body["visitor"]
    return result


async def room(http: aiohttp.ClientSession, rc: FakeRocketChat, token: str) -> Json:
    status, body, _ = await call(http, rc, "GET", "/api/v1/livechat/room", params={"token": token})
    assert status == 200, body
    result: Json = body["room"]
    return result


async def say(
    http: aiohttp.ClientSession, rc: FakeRocketChat, token: str, rid: str, msg: str, **extra: Any
) -> tuple[int, Json]:
    status, body, _ = await call(
        http,
        rc,
        "POST",
        "/api/v1/livechat/message",
        body={"token": token, "rid": rid, "msg": msg, **extra},
    )
    return status, body


async def conversation(
    http: aiohttp.ClientSession, rc: FakeRocketChat, token: str, phone: str = "+5511987654321"
) -> str:
    """A visitor with an open, served room; returns the room id.

    Another visitor needs another phone: the same phone returns the first visitor's token.
    """
    await visitor(http, rc, token, name="Maria da Silva", phone=phone)
    return str((await room(http, rc, token))["_id"])
