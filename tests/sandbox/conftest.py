"""Fixtures for the sandbox fakes' own tests: each fake and a scripted webhook receiver,
all over real HTTP on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.rocketchat import FakeRocketChat

APP_SECRET = "app-secret-for-tests"
ACCESS_TOKEN = "graph-access-token"
PNID = "106540352242922"
VERIFY_TOKEN = "verify-me"
RC_SECRET = "rc-webhook-secret"
CITIZEN = "5511987654321"


@dataclass
class Hit:
    method: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]


@dataclass
class Receiver:
    """A webhook endpoint answering scripted statuses (then `default_status`)."""

    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    answer_body: str = "{}"
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.hits.append(Hit(request.method, dict(request.headers), body, dict(request.query)))
        if request.method == "GET":
            return self._verify(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else self.default_status
        return web.Response(status=status, text=self.answer_body)

    @staticmethod
    def _verify(request: web.Request) -> web.Response:
        """Meta's handshake as a bridge answers it: echo the challenge on a token match."""
        if request.query.get("hub.verify_token") != VERIFY_TOKEN:
            return web.Response(status=403, text="forbidden")
        return web.Response(text=request.query.get("hub.challenge", ""))

    def posts(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.method == "POST"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.close()


@pytest.fixture
async def graph(receiver: Receiver) -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        phone_number_id=PNID,
        webhook_url=receiver.url,
        webhook_retry_delays=(0.01, 0.02, 0.03),
    )
    fake.status_delay = 0.0
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def rc(receiver: Receiver) -> AsyncIterator[FakeRocketChat]:
    fake = FakeRocketChat(
        webhook_url=receiver.url, webhook_token=RC_SECRET, webhook_retry_delay=0.01
    )
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
