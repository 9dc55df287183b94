"""GET/POST /webhooks/whatsapp: Meta's verification handshake and signed deliveries."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping

import structlog
from aiohttp import web
from pydantic import ValidationError

from bridge.core.intake import Intake, accepted
from bridge.core.keyed import KeyedHash
from bridge.core.model import CitizenMessage, OutboundFailed
from bridge.core.storage import Event, Failed, StorageUnavailable
from bridge.errors import failure
from bridge.logs import handled
from bridge.whatsapp import wire

log = structlog.get_logger("bridge.whatsapp.webhook")

OK_BODY = b'{"status":"ok"}'  # the same two dozen bytes for every delivery


def signature_ok(keyed: KeyedHash, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` (contract §3).

    Computed on the bytes as received: re-serialising would lose Meta's `\\uXXXX` and `\\/`
    escapes and break the signature for every accented message. A header that is not
    plain ASCII (garbled, or decoded by the HTTP parser with escapes) is simply wrong."""
    if not header or not header.isascii() or not header.startswith("sha256="):
        return False
    expected = keyed.hexdigest(body)
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


class WhatsAppWebhook:
    def __init__(
        self,
        intake: Callable[[], Intake],
        apps: Mapping[str, frozenset[str]],
        verify_tokens: list[str],
    ) -> None:
        """`apps`: each Meta app's secret and the phone number ids it signs for. Several
        numbers may belong to several apps; a delivery is read only for the numbers of the
        app whose secret signed it, so one app cannot speak for another's numbers."""
        self._get_intake = intake
        self._apps = [(KeyedHash(secret.encode()), numbers) for secret, numbers in apps.items()]
        self._verify_tokens = [token.encode() for token in verify_tokens]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/webhooks/whatsapp", self.verify),
            web.post("/webhooks/whatsapp", self.receive),
        ]

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "").encode()
        known = any(hmac.compare_digest(token, mine) for mine in self._verify_tokens)
        if query.get("hub.mode") == "subscribe" and known:
            log.info("webhook.verified", source="whatsapp")
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("webhook.rejected", source="whatsapp", reason="verify token")
        return web.Response(status=403, text="forbidden")

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.read()  # the app's client_max_size answers 413 past the limit
        numbers = self._signed_for(body, request.headers.get("X-Hub-Signature-256"))
        if not numbers:
            log.warning("webhook.rejected", source="whatsapp", reason="signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        intake = self._get_intake()
        try:
            items = wire.parse_items(body, numbers)
        except (ValidationError, ValueError) as exc:
            items = [wire.Parsed(wire.Skipped(f"malformed: {type(exc).__name__}", True), body)]
        except Exception as exc:  # a parsing bug: the body is kept, never a 5xx Meta retries
            reason = failure(exc)
            log.error("webhook.item_failed", source="whatsapp", reason=reason)
            items = [wire.Parsed(wire.Skipped(reason, True), body)]
        try:
            accepted = await self._handle(intake, items)
        except StorageUnavailable as exc:
            # Nothing of this delivery is lost: Meta retries a non-200 for days (§4.2),
            # and what was already committed is deduplicated then.
            log.error("webhook.storage_unavailable", source="whatsapp", error=str(exc))
            return web.json_response({"error": "storage unavailable"}, status=503)
        handled(
            log,
            started,
            source="whatsapp",
            items=len(items),
            accepted=accepted,
        )
        return web.Response(body=OK_BODY, content_type="application/json")

    def _signed_for(self, body: bytes, signature: str | None) -> frozenset[str]:
        """The numbers of the app that signed this body; none when no secret matches."""
        for keyed, numbers in self._apps:
            if signature_ok(keyed, body, signature):
                return numbers
        return frozenset()

    async def _handle(self, intake: Intake, items: list[wire.Parsed]) -> int:
        """Each item on its own: one that cannot be used, or whose handling fails, is
        recorded with its own JSON and counted; the others of the same delivery go on."""
        events: list[Event] = []
        sources: list[wire.Parsed] = []
        for parsed in items:
            item = parsed.item
            if isinstance(item, CitizenMessage):
                events.append(intake.citizen(item))
            elif isinstance(item, OutboundFailed):
                events.append(intake.outbound_failed(item))
            else:
                if item.record:
                    log.warning("webhook.item_recorded", source="whatsapp", reason=item.reason)
                    await intake.reject("whatsapp", item.reason, parsed.raw)
                continue
            sources.append(parsed)
        results = await intake.accept(events)
        for parsed, result in zip(sources, results, strict=True):
            if isinstance(result, Failed):
                # A bug met by one item: recorded with where it happened, never its
                # content in the log (an exception's message may quote the citizen).
                reason = failure(result.error)
                log.error("webhook.item_failed", source="whatsapp", reason=reason)
                await intake.reject("whatsapp", reason, parsed.raw)
        return accepted(results)
