"""The aiohttp application of the Rocket.Chat fake: middleware and route table.

The middleware applies, in order: request log, ``hold`` (no answer until released),
``set_down`` (503), scripted failures, the rate limiter (§1.4) and the error envelope of
:class:`RCError` (§1.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridge.sandbox.rocketchat_admin import AdminRoutes
from bridge.sandbox.rocketchat_errors import (
    RCError,
    internal_error,
    too_many_requests,
    unauthorized,
)
from bridge.sandbox.rocketchat_http import API_PREFIX, rc_json
from bridge.sandbox.rocketchat_rest import VisitorRoutes
from bridge.sandbox.rocketchat_settings import SettingsRoutes
from bridge.sandbox.rocketchat_upload import FileRoutes

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

MAX_BODY = 110 * 1024 * 1024  # uploads up to FileUpload_MaxFileSize (100 MiB)


def route_name(request: web.Request) -> str | None:
    """`livechat/visitor/:token` for ``/api/v1/livechat/visitor/{token}`` (limiter key)."""
    resource = request.match_info.route.resource
    if resource is None or not resource.canonical.startswith(API_PREFIX):
        return None
    name = resource.canonical[len(API_PREFIX) :]
    return name.replace("{", ":").replace("}", "")


def _scripted(fake: FakeRocketChat, path: str) -> web.Response | None:
    for index, (suffix, status, body, remaining) in enumerate(fake.failures):
        if path.rstrip("/").endswith(suffix):
            if remaining <= 1:
                fake.failures.pop(index)
            else:
                fake.failures[index] = (suffix, status, body, remaining - 1)
            if isinstance(body, str):
                return web.Response(text=body, status=status, content_type="text/html")
            return rc_json(body if body is not None else _default_body(fake, status), status)
    return None


def _default_body(fake: FakeRocketChat, status: int) -> dict[str, Any]:
    if status == 429:
        return too_many_requests(60_000).body
    if status == 401:
        return unauthorized(fake.major).body
    if status >= 500:
        return internal_error().body
    return {"success": False, "error": "error"}


def _client_ip(request: web.Request) -> str:
    """``X-Real-IP`` if present, else the socket address (§1.4)."""
    return request.headers.get("X-Real-IP") or request.remote or ""


def _bypasses(fake: FakeRocketChat, request: web.Request) -> bool:
    return fake.bot_bypasses_rate_limit and (
        request.headers.get("X-User-Id") == fake.user_id
        and request.headers.get("X-Auth-Token") == fake.auth_token
    )


async def _held(fake: FakeRocketChat, request: web.Request) -> None:
    """Wait while the fake is on hold, with the request already received: if its client
    goes away meanwhile, it still completes on release, as on a real server. (Multipart
    bodies are streamed to the handler, so those are not read ahead.)"""
    if fake.answering.is_set():
        return
    if not request.content_type.startswith("multipart/"):
        await request.read()  # cached on the request for the handler
    fake.held_requests += 1
    try:
        await fake.answering.wait()
    finally:
        fake.held_requests -= 1


async def _answer(fake: FakeRocketChat, request: web.Request, handler: Any) -> web.StreamResponse:
    await _held(fake, request)
    if fake.down:
        return rc_json(internal_error().body, 503)
    scripted = _scripted(fake, request.path)
    if scripted is not None:
        return scripted
    verdict = None
    route = route_name(request)
    if fake.rate_limiter and route is not None and not _bypasses(fake, request):
        verdict = fake.limiter.hit(_client_ip(request), route, request.method)
        if not verdict.allowed:
            error = too_many_requests(verdict.wait_ms())
            limited = rc_json(error.body, error.status)
            limited.headers.update(verdict.headers())
            return limited
    try:
        response: web.StreamResponse = await handler(request)
    except RCError as error:
        response = rc_json(error.body, error.status)
    if verdict is not None:
        response.headers.update(verdict.headers())
    return response


def build_app(fake: FakeRocketChat) -> web.Application:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        fake.requests.append((request.method, request.path))
        response = await _answer(fake, request, handler)
        if response.status == 429 or response.status >= 500:
            fake.failed_requests += 1
        return response

    app = web.Application(middlewares=[middleware], client_max_size=MAX_BODY)
    for routes in (VisitorRoutes, AdminRoutes, SettingsRoutes, FileRoutes):
        routes(fake).register(app)
    return app
