"""`python -m bench.fakes`: the Graph and Rocket.Chat fakes in one process, with a control
endpoint for the driver.

On start it prints ONE line of JSON to stdout: ``{"control": url, "graph": url, "rc": url,
"pid": n}``. Both fakes record what they receive with a `time.monotonic()` stamp (the
clock is system-wide on Linux, so it compares with the load generator's). The driver reads
the records with ``GET /received?source=rc|graph&since=N`` and asks for agent messages with
``POST /agent_payloads`` (the messages go into the fake's history at their time, see
``POST /clock``; the load generator posts the webhooks, so it controls their rate and timing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bench import config
from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.rocketchat import FakeRocketChat
from bridge.sandbox.rocketchat_state import meteor_id
from bridge.sandbox.rocketchat_webhooks import build_payload

Record = list[Any]


class RecordingGraph(FakeGraph):
    """Records each accepted send as [t, wa_id, kind, text]. Status webhooks only when
    switched on (the statuses phase): `sent` and `delivered` for every message, `read` for
    every second one, as Meta sends them for a citizen who opens the chat now and then."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[Record] = []
        self.statuses = False
        self._sends = 0

    def after_send(self, record: dict[str, Any], kind: str, wa_id: str) -> None:
        self.received.append([time.monotonic(), wa_id, kind, _text_of(record, kind)])
        if self.statuses and self.webhook_url:
            self._sends += 1
            self._tasks.spawn(self._statuses(record, kind, wa_id, read=self._sends % 2 == 0))

    async def _statuses(self, record: dict[str, Any], kind: str, wa_id: str, read: bool) -> None:
        await self._status_ladder(record, kind, wa_id, None)
        if read:
            await self.citizen_reads_record(record)


class RecordingRocketChat(FakeRocketChat):
    """Records each visitor message it stores as [t, rid, message id, text]."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[Record] = []

    def emit(
        self, switch: str, event: str, room: dict[str, Any], messages: list[dict[str, Any]]
    ) -> None:
        if switch == "Message visitor":
            now = time.monotonic()
            for m in messages:
                self.received.append([now, room["_id"], m["_id"], m.get("msg", "")])
        super().emit(switch, event, room, messages)


def _text_of(record: dict[str, Any], kind: str) -> str:
    if kind == "text":
        return str(record["text"]["body"])
    if kind == "interactive":
        return str(record["interactive"]["body"]["text"])
    return ""


class Control:
    def __init__(self, graph: RecordingGraph, rc: RecordingRocketChat) -> None:
        self.graph = graph
        self.rc = rc
        self._batches = itertools.count(1)
        self._pending: dict[int, list[tuple[dict[str, Any], float]]] = {}
        self._publishing: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_get("/received", self.received)
        app.router.add_get("/rooms", self.rooms)
        app.router.add_get("/counts", self.counts)
        app.router.add_post("/configure", self.configure)
        app.router.add_post("/agent_payloads", self.agent_payloads)
        app.router.add_post("/freeze", self.freeze)
        app.router.add_post("/clock", self.clock)
        return app

    async def freeze(self, _request: web.Request) -> web.Response:
        """Move everything the fakes hold so far out of the garbage collector's reach, so
        that a full collection over a large record pauses neither fake mid-phase (the
        driver calls this before each phase)."""
        gc.collect()
        gc.freeze()
        return web.json_response({"frozen": gc.get_freeze_count()})

    async def received(self, request: web.Request) -> web.Response:
        source = self.rc if request.query.get("source") == "rc" else self.graph
        since = int(request.query.get("since", "0"))
        items = source.received[since:]
        return web.json_response({"next": since + len(items), "items": items})

    async def rooms(self, _request: web.Request) -> web.Response:
        rooms = []
        for room in self.rc.rooms.values():
            visitor = self.rc.visitors.get(room["v"]["token"], {})
            phones = visitor.get("phone") or [{}]
            phone = str(phones[0].get("phoneNumber", "")).lstrip("+")
            rooms.append(
                {
                    "rid": room["_id"],
                    "token": room["v"]["token"],
                    "wa_id": phone,
                    "open": room["open"],
                }
            )
        return web.json_response(rooms)

    async def counts(self, _request: web.Request) -> web.Response:
        rc_posts = sum(1 for m, p in self.rc.requests if m == "POST" and p.endswith("/message"))
        return web.json_response(
            {
                "rc_received": len(self.rc.received),
                "rc_requests": len(self.rc.requests),
                "rc_message_posts": rc_posts,
                "rc_failed": self.rc.failed_requests,
                "graph_received": len(self.graph.received),
                "graph_requests": len(self.graph.requests),
                "graph_webhooks": len(self.graph.webhook_log),
                "graph_webhooks_not_200": sum(1 for s, _ in self.graph.webhook_log if s != 200),
            }
        )

    async def configure(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "rc_webhook_url" in body:
            self.rc.webhook_url = body["rc_webhook_url"]
        if "graph_webhook_url" in body:
            self.graph.webhook_url = body["graph_webhook_url"]
        if "graph_statuses" in body:
            self.graph.statuses = bool(body["graph_statuses"])
        await self.graph.wait_idle()  # the last phase's status webhooks are all sent
        return web.json_response({"ok": True})

    async def agent_payloads(self, request: web.Request) -> web.Response:
        """[[rid, text, at], ...] -> the Omnichannel webhook body of each new agent message,
        and the batch's number. A message enters the room's history only at its time, `at`
        seconds after the clock the load generator announces (POST /clock), when its webhook is
        due to leave: a real agent's message is in the history from the moment its webhook
        leaves, and a replica's ordering read (bridge/core/reconcile.py replay_room) must
        see what the agent has sent so far, never the phase's future messages."""
        items = (await request.json())["items"]
        store = self.rc.store
        agent = store.agent(self.rc.default_agent, config.AGENT_NAME)
        bodies, pending = [], []
        for rid, text, at in items:
            room = self.rc.rooms[rid]
            message = store.message(rid, agent, text, _id=meteor_id())
            payload = build_payload(store, room, "Message", [message], self.rc.present)
            bodies.append(json.dumps(payload, separators=(",", ":"), ensure_ascii=False))
            pending.append((message, float(at)))
        batch = next(self._batches)
        self._pending[batch] = pending
        return web.json_response({"bodies": bodies, "batch": batch})

    async def clock(self, request: web.Request) -> web.Response:
        """{"batch": n, "t0": monotonic seconds}: the batch's messages go into the history
        at t0 + at each, in their order."""
        body = await request.json()
        pending = self._pending.pop(int(body["batch"]))
        task = asyncio.create_task(self._publish(float(body["t0"]), pending))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)
        return web.json_response({"ok": True})

    async def _publish(self, t0: float, pending: list[tuple[dict[str, Any], float]]) -> None:
        for message, at in pending:  # in time order, as planned
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.rc.store.add_message(message)


async def serve(departments: Sequence[str]) -> None:
    graph = RecordingGraph(
        app_secret=config.APP_SECRET,
        access_token=config.ACCESS_TOKEN,
        phone_number_id=config.PHONE_NUMBER_ID,
    )
    rc = RecordingRocketChat(
        webhook_token=config.RC_TOKEN,
        user_id=config.RC_USER_ID,
        auth_token=config.RC_AUTH_TOKEN,
        departments=departments,
    )
    rc.rate_limiter = False  # the real one allows 10 calls a minute per route and IP
    rc.default_agent_name = config.AGENT_NAME
    graph_url = await graph.start()
    rc_url = await rc.start()
    runner = web.AppRunner(Control(graph, rc).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    control = f"http://127.0.0.1:{runner.addresses[0][1]}"
    info = {"control": control, "graph": graph_url, "rc": rc_url, "pid": os.getpid()}
    print(json.dumps(info), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await rc.close()
        await graph.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fakes", description=__doc__)
    parser.add_argument("--departments", default=config.DEPARTMENT, help="comma-separated")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.departments.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
