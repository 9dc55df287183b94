"""`python -m bench.baseline --rooms FILE --rc URL`: the ceiling, a bare aiohttp server.

Two handlers receive exactly the bridge's WhatsApp webhooks:

* ``POST /ack``: checks the X-Hub-Signature-256 HMAC (as the bridge must) and answers 200.
  The ceiling for scenario 1 (ingest).
* ``POST /forward``: checks the HMAC, parses the JSON and posts each text to the fake
  Rocket.Chat room of its sender (``livechat/message``) before answering: the simplest
  relay there is, with no store, no queue and no retry. The ceiling for scenario 2.

Prints ``{"url": ..., "pid": ...}`` on stdout once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import sys
from collections.abc import Sequence

import aiohttp
from aiohttp import web

from bench import config
from bridge.eventloop import freeze_heap, new_event_loop, tune_collector


class Baseline:
    def __init__(self, secret: str, rooms: dict[str, tuple[str, str]], rc_url: str) -> None:
        self._secret = secret.encode()
        self._rooms = rooms
        self._message_url = f"{rc_url}/api/v1/livechat/message"
        self.http: aiohttp.ClientSession | None = None

    def _signed(self, body: bytes, header: str | None) -> bool:
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"sha256={expected}", header or "")

    async def ack(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self._signed(body, request.headers.get("X-Hub-Signature-256")):
            return web.json_response({"error": "invalid signature"}, status=401)
        return web.json_response({"status": "ok"})

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self._signed(body, request.headers.get("X-Hub-Signature-256")):
            return web.json_response({"error": "invalid signature"}, status=401)
        assert self.http is not None
        for change in json.loads(body)["entry"][0]["changes"]:
            for message in change["value"].get("messages", []):
                token, rid = self._rooms[message["from"]]
                payload = {
                    "token": token,
                    "rid": rid,
                    "msg": message["text"]["body"],
                    "_id": hashlib.sha256(message["id"].encode()).hexdigest()[:24],
                }
                async with self.http.post(self._message_url, json=payload) as resp:
                    await resp.read()
                    if resp.status != 200:
                        return web.json_response({"error": resp.status}, status=502)
        return web.json_response({"status": "ok"})


async def serve(rooms: dict[str, tuple[str, str]], rc_url: str) -> None:
    baseline = Baseline(config.APP_SECRET, rooms, rc_url)
    app = web.Application()
    app.router.add_post("/ack", baseline.ack)
    app.router.add_post("/forward", baseline.forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    freeze_heap()  # the bridge's collector settings too: the same stack, minus the bridge
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with aiohttp.ClientSession() as http:
        baseline.http = http
        print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--rooms", help="JSON file {wa_id: [visitor token, room id]}")
    parser.add_argument("--rc", default="http://127.0.0.1:1", help="the fake Rocket.Chat")
    args = parser.parse_args(argv)
    rooms: dict[str, tuple[str, str]] = {}
    if args.rooms:
        with open(args.rooms, encoding="utf-8") as f:
            rooms = {k: (v[0], v[1]) for k, v in json.load(f).items()}
    # The bridge's own event loop (uvloop where installed) and collector settings, so the
    # ceiling is measured with the same stack, minus everything the bridge does.
    tune_collector()
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=new_event_loop) as r:
        r.run(serve(rooms, args.rc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
