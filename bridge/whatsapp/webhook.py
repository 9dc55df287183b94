"""GET/POST /webhooks/whatsapp: Meta's verification handshake and signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import structlog
from aiohttp import web
from pydantic import ValidationError

from bridge.core.intake import Intake
from bridge.core.model import CitizenMessage, OutboundFailed
from bridge.whatsapp import wire

log = structlog.get_logger("bridge.whatsapp.webhook")


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` (contract §3).

    Computed on the bytes as received: re-serialising would lose Meta's `\\uXXXX` and `\\/`
    escapes and break the signature for every accented message."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


class WhatsAppWebhook:
    def __init__(
        self,
        intake: Callable[[], Intake],
        app_secret: str,
        verify_token: str,
        phone_number_id: str,
    ) -> None:
        self._get_intake = intake
        self._secret = app_secret.encode()
        self._verify_token = verify_token
        self._number = phone_number_id

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/webhooks/whatsapp", self.verify),
            web.post("/webhooks/whatsapp", self.receive),
        ]

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self._verify_token.encode()
        ):
            log.info("webhook.verified", source="whatsapp")
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("webhook.rejected", source="whatsapp", reason="verify token")
        return web.Response(status=403, text="forbidden")

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.read()  # the app's client_max_size answers 413 past the limit
        if not signature_ok(self._secret, body, request.headers.get("X-Hub-Signature-256")):
            log.warning("webhook.rejected", source="whatsapp", reason="signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            items = wire.parse(body)
        except (ValidationError, ValueError) as exc:
            await self._get_intake().reject("whatsapp", f"malformed: {type(exc).__name__}", body)
            log.warning("webhook.malformed", source="whatsapp", error=type(exc).__name__)
            return web.json_response({"status": "recorded"})
        accepted = await self._handle(items, body)
        log.info(
            "webhook.handled",
            source="whatsapp",
            items=len(items),
            accepted=accepted,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return web.json_response({"status": "ok"})

    async def _handle(self, items: list[wire.Item], body: bytes) -> int:
        accepted = 0
        recorded = False
        for item in map(self._ours, items):
            if isinstance(item, CitizenMessage):
                accepted += await self._get_intake().citizen(item)
            elif isinstance(item, OutboundFailed):
                accepted += await self._get_intake().outbound_failed(item)
            elif item.record and not recorded:
                recorded = True  # one copy of the body is enough for the audit trail
                await self._get_intake().reject("whatsapp", item.reason, body)
            else:
                log.debug("webhook.skipped", source="whatsapp", reason=item.reason)
        return accepted

    def _ours(self, item: wire.Item) -> wire.Item:
        """A message to another number of the same WhatsApp account is kept for audit, not
        relayed: its replies would leave from our number (one number per bridge for now)."""
        if isinstance(item, CitizenMessage) and item.key.phone_number_id != self._number:
            log.warning("webhook.other_number", phone_number_id=item.key.phone_number_id)
            return wire.Skipped(f"other number {item.key.phone_number_id}", record=True)
        return item
