"""The Graph API as the core's `WhatsApp` port; Graph errors translated once, here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog
from yarl import URL

from bridge.core.model import WaMessageId
from bridge.core.ports import (
    CredentialsRefused,
    DeliveryError,
    Download,
    ForeignUrl,
    Permanent,
    RateLimited,
    Retryable,
)
from bridge.filenames import safe_filename
from bridge.health import Reachability
from bridge.httpjson import json_body
from bridge.transfer import receive, transfer_timeout
from bridge.whatsapp.interactive import render

log = structlog.get_logger("bridge.whatsapp.client")

# whatsapp-cloud-api.md §7.2: throttling, transient and "try later" codes. Everything else
# (100 bad parameter, 131047 window closed, 131026 undeliverable...) is permanent.
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057})
# Of those, the ones that mean "slow down" (app, account, throughput and pair limits; 131048,
# the spam limit, "not quickly"): waited out without spending the retry budget.
THROTTLING_CODES = frozenset({4, 80007, 130429, 131048, 131056})
# An expired or revoked token (HTTP 401, code 190): §7.2 says "no retry, alert ops", and
# /readyz does alert (Reachability.rejected). The messages wait, as for throttling, until
# the token is replaced, instead of every reply of the meantime dying as a dead letter.
CREDENTIALS_REFUSED = 190


def translate(status: int, body: Any, retry_after: str | None) -> DeliveryError:
    """One Graph answer that is not a success, as Retryable or Permanent."""
    error = body.get("error") if isinstance(body, dict) else None
    after = _seconds(retry_after)
    if not isinstance(error, dict):
        if status == 429:
            return RateLimited(f"HTTP {status}", after)
        if status == 401:
            return CredentialsRefused(f"HTTP {status}: credentials refused", after)
        if status >= 500:
            return Retryable(f"HTTP {status}", after)
        return Permanent(f"HTTP {status}")
    code = int(error.get("code") or 0)
    details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    reason = f"({code}) {details}"[:300]
    if code == CREDENTIALS_REFUSED:
        return CredentialsRefused(reason, after)
    if code in THROTTLING_CODES:
        return RateLimited(reason, after)
    if code in RETRYABLE_CODES or (status >= 500 and code not in (3,)):
        return Retryable(reason, after)
    return Permanent(reason, code)


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None


class GraphClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        phone_number_id: str,
        token: str,
        health: Reachability,
    ) -> None:
        self._http = session
        self._base = base
        self._pnid = phone_number_id
        self._auth = {"Authorization": f"Bearer {token}"}
        self.health = health

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            async with self._http.request(method, url, headers=self._auth, **kwargs) as resp:
                body = await _json(resp)
                self._observe(resp.status)
                if resp.status != 200:
                    raise translate(resp.status, body, resp.headers.get("Retry-After"))
                return body
        except (aiohttp.ClientError, TimeoutError) as exc:
            # No idempotency key exists on /messages (§7.2): a send that timed out may have
            # gone through, so retrying is at-least-once. Losing a reply is worse.
            self.health.failed(type(exc).__name__)
            raise Retryable(f"network: {type(exc).__name__}") from exc

    def _observe(self, status: int) -> None:
        # An expired or revoked token is HTTP 401 with code 190 (§7.1): not an outage.
        if status >= 500:
            self.health.failed(f"HTTP {status}")
        elif status == 401:
            self.health.rejected("HTTP 401 (token expired or revoked?)")
        elif status == 200:
            self.health.accepted()
        else:
            self.health.ok()

    async def _send(
        self, to: str, kind: str, content: dict[str, Any], reply_to: str | None = None
    ) -> WaMessageId:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": kind,
            kind: content,
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}  # shown quoted (§5.3)
        # A business-scoped user id (no phone shared) is addressed by `recipient` (§2.6).
        payload["to" if to.isdigit() else "recipient"] = to
        body = await self._call("POST", f"{self._base}/{self._pnid}/messages", json=payload)
        try:
            return WaMessageId(str(body["messages"][0]["id"]))
        except (KeyError, IndexError, TypeError) as exc:
            raise Permanent("send answer without a message id") from exc

    async def send_text(self, to: str, text: str, reply_to: str | None = None) -> WaMessageId:
        if len(text) > TEXT_LIMIT:
            # The core cuts long texts before they get here (core/text.py); this is the
            # last guard against Graph refusing the whole message.
            log.warning("whatsapp.text_cut", length=len(text))
        body = {"preview_url": False, "body": text[:TEXT_LIMIT]}
        return await self._send(to, "text", body, reply_to)

    async def send_interactive(self, to: str, menu: dict[str, Any]) -> WaMessageId:
        return await self._send(to, "interactive", render(menu))

    async def send_template(
        self, to: str, name: str, language: str, parameters: Sequence[str]
    ) -> WaMessageId:
        """An approved template (§5.3): positional body parameters, in order."""
        content: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            body = [{"type": "text", "text": p[:1024]} for p in parameters]
            content["components"] = [{"type": "body", "parameters": body}]
        return await self._send(to, "template", content)

    async def mark_read(self, message_id: str, typing: bool) -> None:
        """Blue ticks on the citizen's message; with `typing`, "typing..." until our reply
        or for 25 s (§5.3). Not a message: the 24 h window does not apply."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            payload["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self._base}/{self._pnid}/messages", json=payload)

    async def send_file(self, to: str, file: Download, caption: str | None) -> WaMessageId:
        media_id = await self._upload(file)
        kind = _kind_for(file.mime)
        content: dict[str, Any] = {"id": media_id}
        if caption and kind in ("image", "video", "document"):
            content["caption"] = caption[:1024]
        if kind == "document" and file.filename:
            content["filename"] = file.filename
        return await self._send(to, kind, content)

    async def _upload(self, file: Download) -> str:
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", file.mime)
        form.add_field(
            "file", file.body(), filename=safe_filename(file.filename), content_type=file.mime
        )
        url = f"{self._base}/{self._pnid}/media"
        body = await self._call("POST", url, data=form, timeout=transfer_timeout(file.size))
        return str(body["id"])

    async def probe(self) -> str:
        """Reach the Graph API with our token: any answer but a 5xx means it is up."""
        try:
            await self._call("GET", f"{self._base}/{self._pnid}", params={"fields": "id"})
        except CredentialsRefused as exc:  # 190: the token
            self.health.rejected(exc.reason)
            return f"answered: {exc.reason}"
        except Permanent as exc:
            if exc.code in (0, 10, 100, 200):
                # 100 "does not exist ... missing permissions": this phone number id is not
                # one the token reaches; 10/200: permission missing.
                self.health.rejected(exc.reason)
            return f"answered: {exc.reason}"
        return "phone number found"

    async def download_media(self, media_id: str, limit: int) -> Download:
        # Never pass phone_number_id for inbound media (§6.2); the URL lives 5 minutes and
        # needs the Bearer token (§6.3), so it is fetched right away, and a 404 on it is
        # met by asking for the id once more (§10.2: the link may have just expired).
        for last in (False, True):
            meta = await self._call("GET", f"{self._base}/{media_id}")
            url = self._media_url(meta.get("url"))
            mime = str(meta.get("mime_type") or "application/octet-stream")
            try:
                async with self._http.get(
                    url, headers=self._auth, timeout=transfer_timeout(limit)
                ) as resp:
                    if resp.status == 404 and not last:
                        continue
                    if resp.status != 200:
                        raise translate(resp.status, await _json(resp), None)
                    return await receive(resp, limit, mime, None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise Retryable(f"network: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def media_limit(self, mime: str) -> int:
        return KIND_LIMITS[_kind_for(mime)]

    def _media_url(self, url: Any) -> str:
        """Graph's media link, fetched with our access token: only from Meta's media hosts
        (or the Graph host itself, as the sandbox serves it), never from anywhere else."""
        try:
            target = URL(str(url))
        except ValueError as exc:
            raise ForeignUrl("media URL unreadable") from exc
        graph = URL(self._base)
        host = (target.host or "").lower()
        ours = (target.scheme, target.host, target.port) == (graph.scheme, graph.host, graph.port)
        meta = target.scheme == "https" and host.endswith(MEDIA_HOSTS)
        if not (ours or meta) or target.user is not None:
            log.warning("whatsapp.foreign_media_url", host=host)
            raise ForeignUrl("media URL outside Meta's hosts: refused")
        return str(target)


# Where Graph's media links point (lookaside.fbsbx.com today; §6.2, §6.3).
MEDIA_HOSTS = (".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net")

TEXT_LIMIT = 4096  # a text body, in characters (§5.3)
MB = 1024 * 1024
# The largest file WhatsApp delivers, per kind the bridge sends (contract §6.5).
KIND_LIMITS = {"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB, "document": 100 * MB}


def _kind_for(mime: str) -> str:
    # Graph accepts only some types per kind (§6.5); anything else travels as a document.
    if mime in ("image/jpeg", "image/png"):
        return "image"
    if mime in ("video/mp4", "video/3gpp"):
        return "video"
    if mime.split(";", maxsplit=1)[0] in (
        "audio/aac",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
    ):
        return "audio"
    return "document"


async def _json(resp: aiohttp.ClientResponse) -> Any:
    return json_body(await resp.read())
