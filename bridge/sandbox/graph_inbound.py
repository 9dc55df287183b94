"""The citizen's side of the Graph fake: inbound webhooks, duplicates, the verify handshake.

Mixed into :class:`bridge.sandbox.graph.FakeGraph`. Every inbound message opens or
refreshes that citizen's 24 h customer-service window (contract §8.1), and is delivered
with Meta's semantics (signed exact bytes, retries until HTTP 200, §3-§4).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from bridge.sandbox.graph_platform import BusinessNumber, MediaItem, MediaStore, WindowTracker
from bridge.sandbox.graph_webhooks import MetaDelivery
from bridge.sandbox.graph_wire import (
    DEFAULT_NAME,
    button_reply_message,
    list_reply_message,
    location_message,
    make_message_payload,
    media_message,
    meta_dumps,
    new_media_id,
    sha256_b64,
    sign,
    text_message,
)

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


class InboundSimulator:
    """Citizen actions; relies on the attributes FakeGraph defines."""

    phone_number_id: str
    display_phone_number: str
    numbers: dict[str, BusinessNumber]
    waba_id: str
    webhook_url: str | None
    webhook_retry_delays: Sequence[float]
    webhook_timeout: float
    media_url_ttl: float
    base_url: str
    sent: list[dict[str, Any]]
    canonical_wa_ids: dict[str, str]
    webhook_log: list[tuple[int | None, bytes]]
    windows: WindowTracker
    media: MediaStore
    _delivery: MetaDelivery

    def canonical_wa_id(self, to: str) -> str:
        """The wa_id Meta answers for a `to`: digits only, then the configured aliases.

        `canonical_wa_ids` models Brazil's ninth digit (§10.5): e.g. map the 13-digit form
        to the 12-digit wa_id the account really has.
        """
        digits = "".join(ch for ch in to if ch.isdigit())
        return self.canonical_wa_ids.get(digits, digits)

    def pair(self, number: str | None, wa_id: str) -> str:
        """The key of a (business number, user) conversation window (§8.1)."""
        return f"{number or self.phone_number_id}/{wa_id}"

    def envelope_for(
        self,
        wa_id: str,
        message: dict[str, Any],
        *,
        name: str | None = DEFAULT_NAME,
        number: str | None = None,
    ) -> dict[str, Any]:
        """A whole inbound webhook body to one of this fake's numbers (the first if None)."""
        business = self.numbers[number or self.phone_number_id]
        return make_message_payload(
            wa_id=wa_id,
            message=message,
            name=name,
            phone_number_id=business.phone_number_id,
            display_phone_number=business.display_phone_number,
            waba_id=self.waba_id,
        )

    def make_text_payload(
        self,
        wa_id: str,
        text: str,
        *,
        wamid: str | None = None,
        name: str | None = DEFAULT_NAME,
        timestamp: str | None = None,
    ) -> dict[str, Any]:
        """An inbound text webhook body (not sent): for ``deliver`` and duplicate tests."""
        message = text_message(wa_id, text, wamid=wamid, timestamp=timestamp)
        return self.envelope_for(wa_id, message, name=name)

    async def citizen_says(
        self, wa_id: str, text: str, *, name: str = DEFAULT_NAME, number: str | None = None
    ) -> tuple[int, str]:
        """`number`: the business number written to (the first one if None)."""
        return await self._send_inbound(wa_id, text_message(wa_id, text), name, number)

    async def citizen_taps_button(
        self, wa_id: str, button_id: str, title: str, *, name: str = DEFAULT_NAME
    ) -> tuple[int, str]:
        context = self._context_for(wa_id, "button", button_id)
        message = button_reply_message(wa_id, button_id, title, context=context)
        return await self._send_inbound(wa_id, message, name)

    async def citizen_picks_row(
        self,
        wa_id: str,
        row_id: str,
        title: str,
        description: str | None = None,
        *,
        name: str = DEFAULT_NAME,
    ) -> tuple[int, str]:
        context = self._context_for(wa_id, "list", row_id)
        message = list_reply_message(wa_id, row_id, title, description, context=context)
        return await self._send_inbound(wa_id, message, name)

    async def citizen_sends_media(
        self,
        wa_id: str,
        kind: str,
        data: bytes,
        mime: str,
        *,
        caption: str | None = None,
        filename: str | None = None,
        name: str = DEFAULT_NAME,
        number: str | None = None,
    ) -> tuple[int, str]:
        """Registers the media (downloadable via ``GET /{media-id}``) and sends the webhook."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}")
        media_id = new_media_id()
        self.media.add(MediaItem(media_id, data, mime, filename or "", phone_number_id=None))
        media = self._inbound_media_object(
            kind, media_id=media_id, data=data, mime=mime, caption=caption, filename=filename
        )
        return await self._send_inbound(wa_id, media_message(wa_id, kind, media), name, number)

    async def citizen_sends_location(
        self,
        wa_id: str,
        lat: float,
        lon: float,
        *,
        name: str = DEFAULT_NAME,
        place: str | None = None,
        address: str | None = None,
        url: str | None = None,
    ) -> tuple[int, str]:
        """A "current location" share, or a chosen `place` (which also carries a maps URL,
        as in the recorded pywa fixture)."""
        if place is not None and url is None:
            url = f"https://maps.google.com/?q={lat},{lon}"
        message = location_message(wa_id, lat, lon, name=place, address=address, url=url)
        return await self._send_inbound(wa_id, message, name)

    async def deliver(
        self,
        body: dict[str, Any] | bytes,
        *,
        signature: str | None = None,
        retry: bool = True,
        duplicates: int = 1,
        app_secret: str | None = None,
    ) -> int:
        """POST an arbitrary payload like Meta; `duplicates` posts the same bytes N times.

        A dict is serialised like Meta (§3); bytes go verbatim. ``signature=""`` omits the
        header, another string replaces it; `app_secret` signs as another Meta app.
        Returns the final attempt's status (0 = no connection). Inbound messages in the
        body open their senders' windows.
        """
        raw = body if isinstance(body, bytes) else meta_dumps(body)
        if signature is None and app_secret is not None:
            signature = sign(app_secret, raw)
        self._openwindows_from(raw)
        status = 0
        for _ in range(max(1, duplicates)):
            status = await self._delivery.post(
                self._require_url(),
                raw,
                signature=signature,
                delays=tuple(self.webhook_retry_delays) if retry else (),
                time_limit=self.webhook_timeout,
            )
        return status

    async def redeliver(self, index: int = -1, *, retry: bool = False) -> int:
        """Post again the exact bytes of an earlier attempt (Meta's duplicates, §4.3)."""
        return await self.deliver(self.webhook_log[index][1], retry=retry)

    async def verify(self, verify_token: str) -> tuple[int, str, str]:
        """Meta's GET handshake (§1); returns (status, body, challenge sent)."""
        challenge = str(10**9 + secrets.randbelow(9 * 10**9))
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": challenge,
            "hub.verify_token": verify_token,
        }
        status, body = await self._delivery.get(self._require_url(), params, self.webhook_timeout)
        return status, body, challenge

    async def _send_inbound(
        self, wa_id: str, message: dict[str, Any], name: str, number: str | None = None
    ) -> tuple[int, str]:
        envelope = self.envelope_for(wa_id, message, name=name, number=number)
        secret = self.numbers[number or self.phone_number_id].app_secret
        status = await self.deliver(envelope, app_secret=secret)
        return status, str(message["id"])

    def _inbound_media_object(
        self,
        kind: str,
        *,
        media_id: str,
        data: bytes,
        mime: str,
        caption: str | None,
        filename: str | None,
    ) -> dict[str, Any]:
        """Media object as in §2.2: base64 sha256, lookaside-style `url`, kind extras."""
        media: dict[str, Any] = {}
        if caption is not None and kind in ("image", "video", "document"):
            media["caption"] = caption
        if kind == "document":
            media["filename"] = filename or "document"
        media.update({"mime_type": mime, "sha256": sha256_b64(data), "id": media_id})
        media["url"] = self.media.link(self.base_url, media_id, self.media_url_ttl, webhook=True)
        if kind == "audio":
            media["voice"] = mime.startswith("audio/ogg")  # voice notes are OGG/OPUS
        if kind == "sticker":
            media["animated"] = False
        return media

    def _context_for(self, wa_id: str, kind: str, choice_id: str) -> dict[str, str] | None:
        """`context` of a reply: our latest interactive message offering that choice."""
        for record in reversed(self.sent):
            interactive = record.get("interactive")
            if not isinstance(interactive, dict) or interactive.get("type") != kind:
                continue
            same_user = self.canonical_wa_id(str(record.get("to", ""))) == wa_id
            if same_user and choice_id in _choice_ids(interactive):
                return {"from": self.display_phone_number, "id": str(record["_wamid"])}
        return None

    def _openwindows_from(self, raw: bytes) -> None:
        try:
            payload = json.loads(raw)
        except ValueError:
            return
        for number, sender in _inbound_senders(payload):
            self.windows.touch(self.pair(number, sender))

    def _require_url(self) -> str:
        if not self.webhook_url:
            raise RuntimeError("FakeGraph.webhook_url is not set")
        return self.webhook_url


def _choice_ids(interactive: dict[str, Any]) -> list[str]:
    action = interactive.get("action") or {}
    ids = [str((b.get("reply") or {}).get("id")) for b in action.get("buttons", [])]
    for section in action.get("sections", []):
        ids.extend(str(row.get("id")) for row in section.get("rows", []))
    return ids


def _inbound_senders(payload: Any) -> list[tuple[str | None, str]]:
    """Every (metadata.phone_number_id, `messages[].from`) of a webhook body (all entries
    x changes, §2.1)."""
    senders: list[tuple[str | None, str]] = []
    if not isinstance(payload, dict):
        return senders
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            number = (value.get("metadata") or {}).get("phone_number_id")
            for message in value.get("messages") or []:
                if isinstance(message, dict) and isinstance(message.get("from"), str):
                    senders.append((number, message["from"]))
    return senders
