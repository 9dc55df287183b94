"""Rocket.Chat errors translated once (contract §1.3, §2)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from multidict import CIMultiDict

from bridge.core.model import RoomId, VisitorToken
from bridge.core.ports import (
    NoAgentOnline,
    Permanent,
    Retryable,
    RoomIsClosed,
    TooLong,
    VisitorIsGone,
)
from bridge.health import Reachability
from bridge.rocketchat.client import RocketChatClient, translate
from tests.support.mock_http import mock_http as aioresponses

BASE = "http://rc.example"
NO_HEADERS: CIMultiDict[str] = CIMultiDict()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            400,
            {
                "success": False,
                "error": "Sorry, no online agents [no-agent-online]",
                "errorType": "no-agent-online",
            },
            NoAgentOnline,
        ),
        (400, {"success": False, "error": "room-closed"}, RoomIsClosed),
        (400, {"success": False, "error": "invalid-room"}, RoomIsClosed),
        (400, {"success": False, "error": "invalid-token"}, VisitorIsGone),
        (400, {"success": False, "error": "message-length-exceeds-character-limit"}, TooLong),
        (
            400,
            {
                "success": False,
                "error": "must have required property 'msg' [invalid-params]",
                "errorType": "invalid-params",
            },
            Permanent,
        ),
        (401, {"success": False, "error": "You must be logged in to do this."}, Permanent),
        (500, {"success": False, "error": "Internal server error"}, Retryable),
        (503, None, Retryable),
    ],
)
def test_translation(status: int, body: object, kind: type) -> None:
    assert isinstance(translate(status, body, NO_HEADERS), kind)


def test_rate_limit_waits_until_the_reset() -> None:
    reset_ms = (time.time() + 30) * 1000
    error = translate(429, {"success": False}, CIMultiDict({"X-RateLimit-Reset": str(reset_ms)}))
    assert isinstance(error, Retryable) and error.after is not None and 28 < error.after <= 30


@pytest.fixture
async def client() -> AsyncIterator[RocketChatClient]:
    async with aiohttp.ClientSession() as session:
        yield RocketChatClient(session, BASE, "", "", Reachability("rocketchat"))


async def test_a_resent_message_id_counts_as_delivered_once_confirmed(
    client: RocketChatClient,
) -> None:
    """7.x answers a re-used `_id` with a 400; the room is read to confirm it holds it."""
    resend = {"success": False, "error": "Cannot convert undefined or null to object"}
    stored = {"message": {"_id": "abc", "msg": "oi", "rid": "r"}, "success": True}
    with aioresponses() as mocked:
        mocked.post(f"{BASE}/api/v1/livechat/message", status=400, payload=resend)
        mocked.get(f"{BASE}/api/v1/livechat/message/abc?rid=r&token=t", payload=stored)
        sent = await client.send_message(VisitorToken("t"), RoomId("r"), "oi", "abc")
    assert sent == "abc"


async def test_a_400_for_a_message_the_room_does_not_hold_is_an_error(
    client: RocketChatClient,
) -> None:
    with aioresponses() as mocked:
        mocked.post(
            f"{BASE}/api/v1/livechat/message",
            status=400,
            payload={"success": False, "error": "Cannot convert undefined or null to object"},
        )
        mocked.get(
            f"{BASE}/api/v1/livechat/message/abc?rid=r&token=t",
            status=400,
            payload={"success": False, "error": "invalid-message"},
        )
        with pytest.raises(Permanent):
            await client.send_message(VisitorToken("t"), RoomId("r"), "oi", "abc")


async def test_an_id_already_used_by_another_message_is_not_delivered(
    client: RocketChatClient,
) -> None:
    """8.x answers a re-used `_id` with 200 and the stored message: not ours, if it differs."""
    other = {"message": {"_id": "abc", "msg": "outra coisa", "rid": "r"}, "success": True}
    with aioresponses() as mocked:
        mocked.post(f"{BASE}/api/v1/livechat/message", payload=other)
        with pytest.raises(Permanent):
            await client.send_message(VisitorToken("t"), RoomId("r"), "oi", "abc")


async def test_register_keeps_the_token_rocketchat_returns(client: RocketChatClient) -> None:
    with aioresponses() as mocked:
        mocked.post(
            f"{BASE}/api/v1/livechat/visitor",
            payload={"visitor": {"token": "older-token"}, "success": True},
        )
        token = await client.register_visitor(
            VisitorToken("new"), "Maria", "+5511", "Atendimento", {}
        )
    assert token == "older-token"
