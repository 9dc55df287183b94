"""Fixtures for the end-to-end tests (harness in support/e2e.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.__main__ import load_number_bots
from bridge.app import build_app
from bridge.core.decide import Bot, Texts
from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.rocketchat import FakeRocketChat
from tests.support.e2e import ACCESS_TOKEN, APP_SECRET, PNID, RC_TOKEN, Env, make_settings


@dataclass
class Fakes:
    graph: FakeGraph
    rc: FakeRocketChat
    graph_url: str
    rc_url: str


@pytest.fixture
def departments() -> tuple[str, ...]:
    """Departments that exist in the fake Rocket.Chat (a module may override)."""
    return ("Atendimento",)


@pytest.fixture
async def fakes(departments: tuple[str, ...]) -> AsyncIterator[Fakes]:
    graph = FakeGraph(
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        phone_number_id=PNID,
        webhook_retry_delays=(0.05, 0.1, 0.2),
    )
    rc = FakeRocketChat(
        webhook_token=RC_TOKEN,
        webhook_retry_delay=0.05,
        user_id="bridgebot-id",
        auth_token="bridgebot-token",
        departments=departments,
        # Agents open Rocket.Chat at another address than the bridge calls (a reverse
        # proxy's): file links in webhooks are absolute on that one (§5).
        site_url="https://chat.prefeitura.example",
    )
    rc.rate_limiter = False
    yield Fakes(graph, rc, await graph.start(), await rc.start())
    await rc.close()
    await graph.close()


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {}


@pytest.fixture
def bot() -> Bot | None:
    return None


@pytest.fixture
async def env(
    fakes: Fakes,
    tmp_path: Path,
    texts: Texts,
    bridge_options: dict[str, Any],
    bot: Bot | None,
) -> AsyncIterator[Env]:
    graph, rc = fakes.graph, fakes.rc
    settings = make_settings(
        tmp_path / "bridge.db", fakes.graph_url, fakes.rc_url, **bridge_options
    )
    app = build_app(settings, texts, bot, load_number_bots(settings, bot))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    graph.webhook_url = f"{url}/webhooks/whatsapp"
    rc.webhook_url = f"{url}/webhooks/rocketchat"
    yield Env(graph, rc, url, app, settings)
    await runner.cleanup()
