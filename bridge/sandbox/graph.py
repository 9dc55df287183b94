"""A local fake of Meta's WhatsApp Cloud (Graph) API, faithful to
/work/shared/contracts/whatsapp-cloud-api.md.

The bridge is pointed at ``start()``'s base URL (WHATSAPP_GRAPH_URL) and calls
``{base}/v25.0/{phone_number_id}/messages`` etc.; tests drive the citizen's side with the
``citizen_*`` methods and inspect ``sent`` / ``webhook_log``. Faults are scripted with
``fail_next`` / ``fail_http`` / ``set_down``; platform rules (24 h window -> async 131047,
pair rate limit -> 131056) are on by default or switchable.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web

from bridge.sandbox.graph_errors import status_error
from bridge.sandbox.graph_inbound import InboundSimulator
from bridge.sandbox.graph_platform import (
    BusinessNumber,
    FaultQueue,
    MediaStore,
    PairLimiter,
    ScriptedFault,
    WindowTracker,
)
from bridge.sandbox.graph_routes import build_app
from bridge.sandbox.graph_webhooks import MetaDelivery
from bridge.sandbox.graph_wire import pricing, status_item, status_payload
from bridge.sandbox.tasks import BackgroundTasks


class FakeGraph(InboundSimulator):
    """The Graph API on 127.0.0.1 plus Meta's webhook sender."""

    def __init__(
        self,
        *,
        app_secret: str,
        access_token: str,
        phone_number_id: str,
        display_phone_number: str = "5511999990000",
        waba_id: str = "100200300400500",
        webhook_url: str | None = None,
        window_seconds: float = 86400.0,
        webhook_retry_delays: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 5.0),
    ) -> None:
        self.app_secret = app_secret
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.webhook_url = webhook_url
        self.window_seconds = window_seconds
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.numbers = {
            phone_number_id: BusinessNumber(
                phone_number_id, access_token, display_phone_number, app_secret
            )
        }
        self._init_behaviour()
        self._init_records()

    def _init_behaviour(self) -> None:
        # Meta publishes no webhook timeout (§4.1); 10 s is a conservative choice.
        self.webhook_timeout = 10.0
        self.emit_statuses = True
        # Statuses follow the HTTP answer after a short delay, as in practice.
        self.status_delay = 0.02
        self.pair_limit = False
        self.pair_burst = 45  # "bursts of up to 45 messages in 6 s" (§8.2)
        self.pair_period = 6.0
        self.media_url_ttl = 300.0  # download URLs live 5 minutes (§6.2)
        # None accepts any template; else {(name, language): body parameter count}.
        self.approved_templates: dict[tuple[str, str], int] | None = None
        self.paused_templates: set[str] = set()  # names answered 132015 (needs approved_*)
        # Names Meta paces (§5.2): accepted as `held_for_quality_assessment`, then dropped
        # with a later `failed` 132015 status (the pacing page's other outcome, a late
        # delivery, is the ordinary path).
        self.paced_templates: set[str] = set()
        self.template_category = "utility"
        self.canonical_wa_ids: dict[str, str] = {}
        self.down = False
        # GET /{WABA_ID}/subscribed_apps; [] = Meta sends this account no webhooks.
        self.subscribed_apps: list[dict[str, Any]] = [
            {
                "whatsapp_business_api_data": {
                    "id": "900000000000001",
                    "name": "Ponte WhatsApp",
                    "link": "https://www.facebook.com/games/?app_id=900000000000001",
                }
            }
        ]

    def _init_records(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.uploads: dict[str, tuple[bytes, str, str]] = {}
        self.webhook_log: list[tuple[int | None, bytes]] = []
        self.base_url = ""
        self.windows = WindowTracker()
        self.pairs = PairLimiter()
        self.media = MediaStore()
        self.faults = FaultQueue()
        self._tasks = BackgroundTasks()
        self._delivery = MetaDelivery(self.app_secret, self.webhook_log)
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port); return the base URL."""
        await self._delivery.start()
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def close(self) -> None:
        await self._tasks.close()
        await self._delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_idle(self) -> None:
        """Wait until every status / scheduled webhook delivery (and retry) is finished."""
        await self._tasks.wait_idle()

    def add_number(
        self,
        phone_number_id: str,
        access_token: str,
        display_phone_number: str,
        *,
        app_secret: str | None = None,
    ) -> None:
        """Another number of the account (or, with `app_secret`, of another Meta app)."""
        self.numbers[phone_number_id] = BusinessNumber(
            phone_number_id, access_token, display_phone_number, app_secret or self.app_secret
        )

    def expire_token(self, phone_number_id: str | None = None) -> None:
        """The number's token stops working, as when a user token expires or a system
        user's token is revoked: every call with it gets code 190 and HTTP 401 (§7.1)."""
        pnid = phone_number_id or self.phone_number_id
        number = self.numbers[pnid]
        self.numbers[pnid] = replace(number, access_token=secrets.token_hex(16))

    # -- scripted faults ---------------------------------------------------------

    def fail_next(
        self,
        code: int,
        *,
        count: int = 1,
        http_status: int | None = None,
        details: str | None = None,
        retry_after: float | None = None,
        target: str = "message",
    ) -> None:
        """The next `count` sends answer with the §7.1 envelope for `code`.

        HTTP status comes from the §7.2 table unless given. `target` is "message" (message
        sends only, not read receipts), "read", "media" (upload / media calls) or "any".
        """
        self.faults.add(ScriptedFault(target, code, http_status, details, retry_after, count))

    def fail_http(self, status: int, *, count: int = 1, target: str = "message") -> None:
        """The next `count` sends get a raw gateway error (HTML body, not JSON)."""
        self.faults.add(ScriptedFault(target, None, status, None, None, count))

    def set_down(self, down: bool) -> None:
        """When down, every Graph call answers 503 with code 2 (§7.2)."""
        self.down = down

    # -- platform rules ----------------------------------------------------------

    def expire_window(self, wa_id: str, number: str | None = None) -> None:
        """Close the citizen's 24 h window now: free-form sends then fail with 131047."""
        self.windows.expire(self.pair(number, wa_id))

    def open_window(self, wa_id: str, number: str | None = None) -> None:
        """Open the window without a webhook (as if the citizen wrote earlier)."""
        self.windows.touch(self.pair(number, wa_id))

    def window_open(self, wa_id: str, number: str | None = None) -> bool:
        return self.windows.is_open(self.pair(number, wa_id), self.window_seconds)

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        """Accepted sends addressed to `wa_id`, in order."""
        return [m for m in self.sent if self.canonical_wa_id(str(m.get("to"))) == wa_id]

    def after_send(self, record: dict[str, Any], kind: str, wa_id: str) -> None:
        """Called by the route for an accepted send: schedule its status webhooks.

        Outside the window a non-template send is accepted (200 + wamid) and then fails
        asynchronously with 131047 (§7.2, §10.4). An unknown media id fails the same way
        with 131053 (Meta's behaviour here is not documented; async is the harder case).
        """
        failure: int | None = None
        if kind != "template" and not self.window_open(wa_id, record["_from"]):
            failure = 131047
        elif kind == "template" and record["template"].get("name") in self.paced_templates:
            failure = 132015
        elif _media_id_of(record, kind) not in (None, *self.media.items):
            failure = 131053
        self._tasks.spawn(self._status_ladder(record, kind, wa_id, failure))

    async def _status_ladder(
        self, record: dict[str, Any], kind: str, wa_id: str, failure: int | None
    ) -> None:
        await asyncio.sleep(self.status_delay)
        wamid, number = str(record["_wamid"]), str(record["_from"])
        opaque = record.get("biz_opaque_callback_data")
        if failure is not None:
            errors = [status_error(failure)]
            await self._emit(status_item(wamid, "failed", wa_id, errors=errors,
                                         biz_opaque_callback_data=opaque), number)  # fmt: skip
            return
        if not self.emit_statuses:
            return
        price = pricing(template=kind == "template", category=self.template_category)
        await self._emit(status_item(wamid, "sent", wa_id, price=price,
                                     biz_opaque_callback_data=opaque), number)  # fmt: skip
        if kind == "reaction":
            return  # reactions only ever produce `sent` (§2.4)
        await self._emit(status_item(wamid, "delivered", wa_id, price=price,
                                     biz_opaque_callback_data=opaque), number)  # fmt: skip

    async def citizen_reads(self, wamid: str) -> int:
        """The citizen opens the chat: a `read` status (no pricing, §2.4)."""
        return await self.citizen_reads_record(next(m for m in self.sent if m["_wamid"] == wamid))

    async def citizen_reads_record(self, record: dict[str, Any]) -> int:
        """`citizen_reads` for a record of `sent` already at hand (no search through every
        message sent: the benchmark reads tens of thousands)."""
        wamid = str(record["_wamid"])
        wa_id = self.canonical_wa_id(str(record["to"]))
        opaque = record.get("biz_opaque_callback_data")
        item = status_item(wamid, "read", wa_id, biz_opaque_callback_data=opaque)
        return await self._emit(item, str(record["_from"]))

    async def _emit(self, item: dict[str, Any], number: str) -> int:
        if not self.webhook_url:
            return 0  # nobody subscribed: Meta sends nothing
        business = self.numbers[number]
        payload = status_payload(
            item,
            phone_number_id=number,
            display_phone_number=business.display_phone_number,
            waba_id=self.waba_id,
        )
        return await self.deliver(payload, app_secret=business.app_secret)


def _media_id_of(record: dict[str, Any], kind: str) -> str | None:
    obj = record.get(kind)
    if kind in ("image", "video", "audio", "document", "sticker") and isinstance(obj, dict):
        media_id = obj.get("id")
        return str(media_id) if media_id is not None else None
    return None
