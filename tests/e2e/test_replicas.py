"""Two bridge processes on one PostgreSQL database (issue #11): webhooks alternate between
them through a balancer and duplicates reach both; the replica holding the conversation's
lease is killed with SIGKILL while its call to Rocket.Chat is in flight. Every citizen
message reaches the room once and in order, the agent's replies reach the citizen once and
in order, and one replica still leads the reconciler."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from itertools import cycle
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from bridge.sandbox.graph_wire import meta_dumps, sign
from tests.store.backends import POSTGRES_URL, fresh_schema
from tests.support.e2e import APP_SECRET, CITIZEN, until
from tests.support.process import BridgeProcess, bridge_environ, free_port, until_async

from .conftest import Fakes

BURST = 30
KILL_AT = 12  # citizen messages acknowledged before the kill
DUPLICATED = {3, 9, 20, 27}  # delivered to both replicas at once
REPLIES = 8


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_schema("replicas") as name:
        yield f"{POSTGRES_URL}?search_path={name}"


@pytest.fixture
async def replicas(
    fakes: Fakes, database: str, tmp_path: Path
) -> AsyncIterator[list[BridgeProcess]]:
    processes = []
    for n in (1, 2):
        environ = bridge_environ(
            db=tmp_path / f"unused-{n}.db", port=free_port(),
            graph_url=fakes.graph_url, rc_url=fakes.rc_url,
            BRIDGE_DATABASE_URL=database, BRIDGE_REQUIRE_POSTGRES="true",
            BRIDGE_LEASE_SECONDS="3", BRIDGE_RECONCILE_SECONDS="1",
        )  # fmt: skip
        processes.append(BridgeProcess(environ, tmp_path, tmp_path / f"replica-{n}.log"))
    try:
        yield processes
    finally:
        for process in processes:
            await process.stop()
            print(process.output())  # shown by pytest only when the test failed


class Balancer:
    """What nginx does in front of the replicas: round robin, the next one on failure."""

    def __init__(self, replicas: list[BridgeProcess]) -> None:
        self._turns = cycle(replicas)
        self._count = len(replicas)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/{source}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",
                   "content-length")}  # fmt: skip
        for _ in range(self._count):
            replica = next(self._turns)
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(f"{replica.url}{request.path}", data=body, headers=headers) as answer,
                ):
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientError:
                continue  # that replica is gone: the next one
        return web.Response(status=502)


def room_texts(fakes: Fakes) -> list[str]:
    rooms = [r for r in fakes.rc.rooms.values() if r.get("open")]
    return [m["msg"] for m in fakes.rc.visitor_messages(rooms[0]["_id"])] if rooms else []


async def to_both(replicas: list[BridgeProcess], payload: bytes) -> list[int]:
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": sign(APP_SECRET, payload)}  # fmt: skip
    async with aiohttp.ClientSession() as http:

        async def post(replica: BridgeProcess) -> int:
            async with http.post(f"{replica.url}/webhooks/whatsapp", data=payload,
                                 headers=headers) as answer:  # fmt: skip
                return answer.status

        return list(await asyncio.gather(*(post(r) for r in replicas)))


async def leaseholder(database: str) -> int:
    """The pid in the lease of the conversation's Rocket.Chat lane (owner host:pid:...)."""
    conn = await asyncpg.connect(database)
    try:
        lease = await conn.fetchval("SELECT lease FROM lane WHERE destination = 'rocketchat'")
    finally:
        await conn.close()
    return int(str(lease).split(":")[1]) if lease else 0


async def leased_by(database: str, replicas: list[BridgeProcess]) -> bool:
    return await leaseholder(database) in {r.pid for r in replicas}


async def test_a_replica_killed_mid_burst_loses_and_repeats_nothing(
    fakes: Fakes, replicas: list[BridgeProcess], database: str
) -> None:
    graph, rc = fakes.graph, fakes.rc
    for replica in replicas:
        await replica.start()
    balancer = Balancer(replicas)
    await balancer.start()
    graph.webhook_url = f"{balancer.url}/webhooks/whatsapp"
    rc.webhook_url = f"{balancer.url}/webhooks/rocketchat"
    expected = [f"mensagem {n}" for n in range(BURST)]
    try:
        for n in range(BURST):
            body = graph.make_text_payload(CITIZEN, expected[n], wamid=f"wamid.rep-{n:02d}")
            if n == KILL_AT:
                # Rocket.Chat stops answering before this message comes in, so its relay
                # (started as soon as it is committed, by the replica that took it) is
                # certainly in flight when the lane's holder is looked up.
                rc.hold()
            if n in DUPLICATED:
                assert await to_both([r for r in replicas if r.running], meta_dumps(body)) == [
                    200
                ] * sum(r.running for r in replicas)
            else:
                assert await graph.deliver(body) == 200
            if n == 0:
                await until(lambda: len(room_texts(fakes)) == 2, limit=20)
            if n == KILL_AT:
                # The relay hangs in flight, held by one replica's lease (other calls, a
                # readiness probe, may hang beside it). That replica dies; the call still
                # completes.
                await until_async(lambda: leased_by(database, replicas), limit=20)
                await until(lambda: rc.held_requests >= 1, limit=20)
                holder = await leaseholder(database)
                victim = next(r for r in replicas if r.pid == holder)
                assert await victim.kill() == -signal.SIGKILL
                rc.release()
        await until(lambda: room_texts(fakes)[1:] == expected, limit=30)

        rid = rc.open_room_ids()[0]
        replies = [f"resposta {n}" for n in range(REPLIES)]
        for text in replies:
            await rc.agent_says(rid, text)
        await until(lambda: len(graph.sent_to(CITIZEN)) == REPLIES, limit=30)
        await rc.wait_webhooks_idle()
        await asyncio.sleep(0.5)  # time for a stray duplicate to show, if any
        sent = [m["text"]["body"] for m in graph.sent_to(CITIZEN)]
        assert sent == [f"*Ana Souza*: {t}" for t in replies]
        assert room_texts(fakes)[1:] == expected
        assert len(rc.open_room_ids()) == 1 and len(rc.visitors) == 1

        survivor = next(r for r in replicas if r.running)

        async def one_leader() -> bool:
            # The dead replica's session, and its lock, are gone: the one lock left is the
            # survivor's, which leads the reconciler now (or did all along).
            conn = await asyncpg.connect(database)
            try:
                held = await conn.fetch(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                )
            finally:
                await conn.close()
            return len(held) == 1

        await until_async(one_leader, limit=10)
        async with aiohttp.ClientSession() as http, http.get(f"{survivor.url}/readyz") as r:
            body = await r.json()
        assert body["workers"]["reconciler"]["state"] == "running"
    finally:
        await balancer.close()
