"""Waiting until the bridge and the fakes have nothing left to do (sandbox and tests)."""

from __future__ import annotations

import asyncio
import time

from bridge.app import Parts
from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.rocketchat import FakeRocketChat


async def quiet(graph: FakeGraph, rocketchat: FakeRocketChat, parts: Parts, limit: float) -> bool:
    """True once both fakes sent every webhook and the outbox has no pending row and no
    delivery in flight; False if that did not happen within `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await graph.wait_idle()
        await rocketchat.wait_webhooks_idle()
        pending = (await parts.store.outbox_depth()).get("pending", 0)
        if not pending and parts.outbox.idle():
            return True
        await asyncio.sleep(0.02)
    return False
