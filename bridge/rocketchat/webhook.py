"""POST /webhooks/rocketchat: the Omnichannel webhook (rocketchat-omnichannel.md §4)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from pydantic import ValidationError

from bridge.core.intake import Intake, accepted
from bridge.core.model import AgentMessage
from bridge.core.storage import Event, Failed, StorageUnavailable
from bridge.errors import failure
from bridge.logs import handled
from bridge.rocketchat import wire

log = structlog.get_logger("bridge.rocketchat.webhook")


def _ack() -> web.Response:
    # Success is HTTP 200 exactly, and Rocket.Chat stores the body on the room as `crmData`,
    # sending it back in every later payload (§4.2): keep it to two bytes.
    return web.Response(text="{}", content_type="application/json")


class RocketChatWebhook:
    def __init__(
        self,
        intake: Callable[[], Intake],
        token: str,
        before_agent_message: Callable[[str, frozenset[str]], Awaitable[int]] | None = None,
    ) -> None:
        """`before_agent_message(room_id, event_ids)` runs before agents' messages are
        taken (with several replicas: the reconciler's replay of the room up to them, for
        Rocket.Chat's order)."""
        self._get_intake = intake
        self._token = token.encode()
        self._before_agent = before_agent_message

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/webhooks/rocketchat", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        # Header values reach us as str; one with bytes that are not UTF-8 carries them as
        # surrogate escapes, which only a byte comparison handles without raising.
        given = request.headers.get("X-RocketChat-Livechat-Token", "")
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            log.warning("webhook.rejected", source="rocketchat", reason="token")
            return web.json_response({"error": "invalid token"}, status=401)
        body = await request.read()
        intake = self._get_intake()
        try:
            accepted, kind = await self._handle(intake, body)
        except StorageUnavailable as exc:
            # Rocket.Chat 8.x retries a 5xx a few times (§4.2); the reconciler reads the
            # room's history for whatever it gives up on.
            log.error("webhook.storage_unavailable", source="rocketchat", error=str(exc))
            return web.json_response({"error": "storage unavailable"}, status=503)
        handled(
            log,
            started,
            source="rocketchat",
            type=kind,
            accepted=accepted,
        )
        return _ack()

    async def _handle(self, intake: Intake, body: bytes) -> tuple[int, str]:
        try:
            payload = wire.Payload.model_validate_json(body)
        except (ValidationError, ValueError) as exc:
            await intake.reject("rocketchat", f"malformed: {type(exc).__name__}", body)
            log.warning("webhook.malformed", source="rocketchat", error=type(exc).__name__)
            return 0, "?"
        events: list[Event] = []
        rooms: dict[str, set[str]] = {}  # room -> the agent messages' event ids
        for item in wire.parse(payload):
            if isinstance(item, wire.Invalid):
                log.warning("webhook.item_recorded", source="rocketchat", reason=item.reason)
                await intake.reject("rocketchat", item.reason, item.raw)
            else:
                events.append(intake.room_event(*item))
                if isinstance(item[0], AgentMessage):
                    rooms.setdefault(item[0].room_id, set()).add(item[1])
        if self._before_agent is not None:
            for room in sorted(rooms):
                await self._before_agent(room, frozenset(rooms[room]))
        results = await intake.accept(events)
        for result in results:
            if isinstance(result, Failed):
                reason = failure(result.error)
                log.error("webhook.item_failed", source="rocketchat", reason=reason)
                await intake.reject("rocketchat", reason, body)
        return accepted(results), payload.type
