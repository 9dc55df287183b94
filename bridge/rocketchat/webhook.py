"""POST /webhooks/rocketchat: the Omnichannel webhook (rocketchat-omnichannel.md §4)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

import structlog
from aiohttp import web
from pydantic import ValidationError

from bridge.core.intake import Intake
from bridge.rocketchat import wire

log = structlog.get_logger("bridge.rocketchat.webhook")


def _ack() -> web.Response:
    # Success is HTTP 200 exactly, and Rocket.Chat stores the body on the room as `crmData`,
    # sending it back in every later payload (§4.2): keep it to two bytes.
    return web.Response(text="{}", content_type="application/json")


class RocketChatWebhook:
    def __init__(self, intake: Callable[[], Intake], token: str) -> None:
        self._get_intake = intake
        self._token = token.encode()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/webhooks/rocketchat", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        given = request.headers.get("X-RocketChat-Livechat-Token", "").encode()
        if not hmac.compare_digest(given, self._token):
            log.warning("webhook.rejected", source="rocketchat", reason="token")
            return web.json_response({"error": "invalid token"}, status=401)
        body = await request.read()
        try:
            payload = wire.Payload.model_validate_json(body)
        except (ValidationError, ValueError) as exc:
            await self._get_intake().reject("rocketchat", f"malformed: {type(exc).__name__}", body)
            log.warning("webhook.malformed", source="rocketchat", error=type(exc).__name__)
            return _ack()
        accepted = 0
        for event, event_id in wire.parse(payload):
            accepted += await self._get_intake().room_event(event, event_id)
        log.info(
            "webhook.handled",
            source="rocketchat",
            type=payload.type,
            accepted=accepted,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return _ack()
