"""Small HTTP helpers shared by the Rocket.Chat fake's routes (§1.1, §1.2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridge.sandbox.rocketchat_errors import unauthorized

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

API_PREFIX = "/api/v1/"


def rc_json(payload: dict[str, Any], status: int = 200) -> web.Response:
    """JSON like JSON.stringify: UTF-8, non-ASCII unescaped."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return web.Response(text=text, status=status, content_type="application/json")


def ok(payload: dict[str, Any] | None = None) -> web.Response:
    """``API.v1.success(obj)``: fields at top level plus ``success: true`` (§1.2)."""
    return rc_json({**(payload or {}), "success": True})


async def read_json(request: web.Request) -> Any:
    """The JSON body; an empty or unparsable body counts as no body at all."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def require_user(fake: FakeRocketChat, request: web.Request) -> None:
    """``authRequired`` routes: X-User-Id + X-Auth-Token of the service account (§1.1)."""
    user_id = request.headers.get("X-User-Id")
    token = request.headers.get("X-Auth-Token")
    if user_id != fake.user_id or token != fake.auth_token:
        raise unauthorized(fake.major)
