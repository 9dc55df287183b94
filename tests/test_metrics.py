"""The HTTP client's timing (Metrics.client_middleware) against a real local server."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.metrics import Metrics


async def stored(_request: web.Request) -> web.Response:
    return web.json_response({"success": True})


async def test_each_call_is_timed_by_remote_endpoint_and_status_class() -> None:
    app = web.Application()
    app.router.add_post("/api/v1/livechat/message", stored)
    async with TestServer(app, host="127.0.0.1") as server:
        metrics = Metrics({f"127.0.0.1:{server.port}": "rocketchat"})
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        closed.close()  # nothing listens there any more
        async with aiohttp.ClientSession(middlewares=(metrics.client_middleware(),)) as http:
            async with http.post(server.make_url("/api/v1/livechat/message"), json={}) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.get(f"http://127.0.0.1:{dead_port}/file-upload/abc/x.pdf")
    text = metrics.render().decode()
    assert (
        'bridge_remote_call_seconds_count{endpoint="/api/v1/livechat/message",method="POST",'
        'remote="rocketchat",status="2xx"} 1.0'
    ) in text
    assert (
        'bridge_remote_call_seconds_count{endpoint="/file-upload/:id",method="GET",'
        'remote="media",status="error"} 1.0'
    ) in text
