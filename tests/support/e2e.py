"""End-to-end harness shared by tests/e2e.

The bridge runs as a real aiohttp server on port 0 and talks over loopback to the
sandbox fakes of the Graph API and of Rocket.Chat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge.app import PARTS, Parts
from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.quiet import quiet
from bridge.sandbox.rocketchat import FakeRocketChat
from bridge.settings import Settings

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
VERIFY_TOKEN = "test-verify-token"
RC_TOKEN = "test-rc-webhook-token"
PNID = "100000000000001"
CITIZEN = "5511987654321"


@dataclass
class Env:
    graph: FakeGraph
    rc: FakeRocketChat
    url: str
    app: web.Application
    settings: Settings

    @property
    def parts(self) -> Parts:
        return self.app[PARTS]

    def room(self) -> dict[str, Any]:
        rooms = [r for r in self.rc.rooms.values() if r.get("open")]
        assert len(rooms) == 1, rooms
        return rooms[0]

    def citizen_texts(self) -> list[str]:
        return [b["text"]["body"] for b in self.graph.sent if b.get("type") == "text"]

    def room_texts(self, rid: str) -> list[str]:
        return [m["msg"] for m in self.rc.visitor_messages(rid)]


async def until(check: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for something the bridge does in the background (bounded, not a timing test)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def settled(env: Env, limit: float = 15.0) -> None:
    """Wait until the fakes sent every webhook and the outbox has nothing left to do."""
    if not await quiet(env.graph, env.rc, env.parts, limit):
        raise AssertionError("the bridge did not settle in time")


def make_settings(db: Path, graph_url: str, rc_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_phone_number_id": PNID,
        "whatsapp_graph_url": graph_url,
        "rocketchat_url": rc_url,
        "rocketchat_webhook_token": RC_TOKEN,
        "rocketchat_user_id": "bridgebot-id",
        "rocketchat_auth_token": "bridgebot-token",
        "rocketchat_department": "Atendimento",
        "bridge_db": db,
        "bridge_retry_base_seconds": 0.05,
        "bridge_retry_max_seconds": 0.4,
        "bridge_retry_limit": 8,
        "bridge_no_agent_retry_seconds": 0.3,
        "bridge_reconcile_seconds": 0,
        "bridge_unreachable_seconds": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)
