"""Labelling a new room through the service account (contract §3.3, §3.7), on both editions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bridge.core.model import VisitorToken
from bridge.core.ports import RoomLabels
from bridge.health import Reachability
from bridge.rocketchat.client import RocketChatClient
from bridge.sandbox.rocketchat import FakeRocketChat


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def labelled(
    http: aiohttp.ClientSession, departments: tuple[str, ...], priority: str | None
) -> tuple[dict[str, object], dict[object, int]]:
    fake = FakeRocketChat(departments=departments)
    fake.rate_limiter = False
    fake.store.custom_fields.update({"cpf": "room"})
    base = await fake.start()
    try:
        client = RocketChatClient(
            http, base, "bridgebot-id", "bridgebot-token", Reachability("rocketchat")
        )
        token = await client.register_visitor(
            VisitorToken("wa-1"), "Maria", "+5511999990000", departments[0], {}
        )
        room_id = await client.open_room(token)
        labels = RoomLabels("🚨 URGENTE · Urgência", ("urgente",), {"cpf": "52998224725"}, priority)
        await client.label_room(room_id, token, labels)
        weights = {p["_id"]: p["sortItem"] for p in fake.store.priorities}
        return fake.store.rooms[room_id], weights
    finally:
        await fake.close()


async def test_community_edition_gets_topic_tags_and_fields_without_priority(
    http: aiohttp.ClientSession,
) -> None:
    room, _ = await labelled(http, ("Atendimento",), "urgent")
    assert room["topic"] == "🚨 URGENTE · Urgência"
    assert room["tags"] == ["urgente"]
    assert room["livechatData"] == {"cpf": "52998224725"}
    assert "priorityId" not in room


async def test_enterprise_also_gets_the_matching_priority(http: aiohttp.ClientSession) -> None:
    fake_departments = ("Atendimento", "Urgente")
    room, weights = await labelled(http, fake_departments, "urgent")
    assert room["topic"] == "🚨 URGENTE · Urgência"
    assert weights[room["priorityId"]] == 1  # Highest
