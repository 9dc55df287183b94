"""A local fake of Rocket.Chat 8.x Omnichannel (REST + webhook), faithful to
/work/shared/contracts/rocketchat-omnichannel.md.

The bridge calls ``{base}/api/v1/...`` as a visitor (and as a service account for the
authenticated routes); tests play the agents through :class:`AgentConsole` methods
(``agent_says``, ``close_room``...) which emit the webhooks the real server would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from bridge.sandbox.rocketchat_agent import AgentConsole
from bridge.sandbox.rocketchat_app import build_app
from bridge.sandbox.rocketchat_files import FileTokens, present
from bridge.sandbox.rocketchat_ops import register_visitor
from bridge.sandbox.rocketchat_ratelimit import RateLimiter
from bridge.sandbox.rocketchat_state import RCStore
from bridge.sandbox.rocketchat_webhooks import RCWebhookSender, build_payload
from bridge.sandbox.tasks import BackgroundTasks

DEFAULT_EVENTS = frozenset(
    {"Message agent", "LivechatSession", "LivechatSessionForwarded", "LivechatSessionTaken"}
)


class FakeRocketChat(AgentConsole):
    """Rocket.Chat on 127.0.0.1: visitor REST, service-account REST, webhooks."""

    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        webhook_token: str = "",
        user_id: str = "bridgebot-id",
        auth_token: str = "bridgebot-token",  # noqa: S107 - the sandbox's fixed test token
        version: str = "8.6.0",
        departments: Sequence[str] = ("Atendimento",),
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 5.0,
        custom_fields: Mapping[str, str] | None = None,
        bot_username: str = "bridgebot",
        site_url: str | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        # Site_Url (the ROOT_URL agents open), the base of `publicFilePath` and permalinks
        # (§5): in a deployment a reverse proxy's address, or the image's default
        # http://localhost:3000, not the one the bridge calls. None: the address served.
        self._site_url = site_url
        self.webhook_token = webhook_token
        self.user_id = user_id
        self.auth_token = auth_token
        self.bot_username = bot_username
        self.version = version
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.store = RCStore(list(departments))
        # Several departments need an Enterprise licence (§3.2, §10.8).
        self.enterprise = len(departments) > 1
        self.store.custom_fields.update(custom_fields or {})
        self._init_settings()
        self._init_records()

    def _init_settings(self) -> None:
        self.agents_online = True
        self.accept_with_no_agents = False  # Livechat_accept_chats_with_no_agents (§2.3)
        self.offline_departments: set[str] = set()  # names or ids without online agents
        self.livechat_enabled = True
        self.file_upload_enabled = True
        self.max_file_size = 104857600  # FileUpload_MaxFileSize (§2.7)
        self.media_type_blacklist = {"image/svg+xml"}
        self.visitors_can_close = True
        # Livechat_Allow_collect_and_store_HTTP_header_informations: visitors with open
        # rooms may be removed (§2.2).
        self.gdpr_remove_open = False
        self.request_comment_on_close = True  # Livechat_request_comment_when_closing_...
        self.message_character_limit: int | None = None
        self.default_agent = "ana"
        self.default_agent_name = "Ana Souza"
        self.drop_webhooks = False
        self.webhook_events: set[str] = set(DEFAULT_EVENTS)
        self.rate_limiter = True
        self.bot_bypasses_rate_limit = False  # §1.4: plausible on 8.x but unverified
        self.limiter = RateLimiter()
        self.files = FileTokens(secrets.token_bytes(32))
        self.integration_settings: dict[str, Any] = {}
        self.down = False
        # Cleared by hold(): REST calls then wait unanswered (a server that hangs).
        self.answering = asyncio.Event()
        self.answering.set()
        self.held_requests = 0  # calls waiting for release() right now

    def _init_records(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.webhook_log: list[tuple[str, int | None]] = []
        self.webhook_payloads: list[dict[str, Any]] = []
        self.dropped_webhooks: list[dict[str, Any]] = []
        self.failures: list[tuple[str, int, dict[str, Any] | str | None, int]] = []
        # Answers with 429 or 5xx (down, scripted, rate limited): what a client retries.
        self.failed_requests = 0
        self.base_url = ""
        self.site_url = ""
        self._tasks = BackgroundTasks()
        self._sender = RCWebhookSender(self.webhook_log, self._tasks)
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._sender.session = aiohttp.ClientSession()
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        self.site_url = self._site_url or self.base_url
        return self.base_url

    async def close(self) -> None:
        self.release()  # held calls finish, so that the server can stop
        await self._tasks.close()
        if self._sender.session is not None:
            await self._sender.session.close()
            self._sender.session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_webhooks_idle(self) -> None:
        """Wait until no webhook delivery (first attempt or retry) is in flight."""
        await self._tasks.wait_idle()

    # -- toggles -----------------------------------------------------------------

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def rate_limit_window(self) -> float:
        return self.limiter.window_seconds

    @rate_limit_window.setter
    def rate_limit_window(self, seconds: float) -> None:
        self.limiter.window_seconds = seconds

    def set_down(self, down: bool) -> None:
        """When down, every REST call answers 503 ``{"success":false,"error":...}``."""
        self.down = down

    def hold(self) -> None:
        """Stop answering: REST calls are accepted and then wait until ``release()``.

        A call the client gave up on (or whose client died) still completes afterwards,
        as a real server finishes a request whose caller has gone."""
        self.answering.clear()

    def release(self) -> None:
        self.answering.set()

    def fail_next(
        self,
        path_suffix: str,
        *,
        status: int,
        body: dict[str, Any] | str | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` requests whose path ends with `path_suffix` get `status`/`body`.

        A `str` body is sent as an HTML page: what a reverse proxy or a login wall in front
        of Rocket.Chat answers, sometimes with a 200."""
        self.failures.append((path_suffix.rstrip("/"), status, body, count))

    def seed_visitor(
        self,
        *,
        token: str,
        phone: str | None = None,
        name: str | None = None,
        email: str | None = None,
        department: str | None = None,
    ) -> dict[str, Any]:
        """A visitor that already exists (e.g. from the web widget), with its own token."""
        data = {"token": token, "phone": phone, "name": name, "email": email,
                "department": department}  # fmt: skip
        return register_visitor(self.store, data, major=self.major)

    def define_custom_field(self, key: str, scope: str = "visitor") -> None:
        """A livechat custom field; only defined fields are stored (§2.1, saveRoomInfo)."""
        self.store.custom_fields[key] = scope

    # -- inspection --------------------------------------------------------------

    @property
    def rooms(self) -> dict[str, dict[str, Any]]:
        return self.store.rooms

    @property
    def visitors(self) -> dict[str, dict[str, Any]]:
        return self.store.visitors

    def messages(self, rid: str) -> list[dict[str, Any]]:
        """Every message of the room (system ones included), oldest first."""
        return list(self.store.room_messages.get(rid, []))

    def visitor_messages(self, rid: str) -> list[dict[str, Any]]:
        """The messages the visitor (the bridge) posted: they carry `token`."""
        return [m for m in self.messages(rid) if "token" in m and "t" not in m]

    def agent_messages(self, rid: str) -> list[dict[str, Any]]:
        return [m for m in self.messages(rid) if "token" not in m and "t" not in m]

    def room_for_token(self, token: str) -> dict[str, Any] | None:
        """The visitor's open room, else their latest room, else None."""
        rooms = [r for r in self.store.rooms.values() if r["v"]["token"] == token]
        open_rooms = [r for r in rooms if r["open"]]
        candidates = open_rooms or rooms
        return candidates[-1] if candidates else None

    def open_room_ids(self) -> list[str]:
        return [rid for rid, room in self.store.rooms.items() if room["open"]]

    # -- webhooks ----------------------------------------------------------------

    def present(self, message: dict[str, Any]) -> dict[str, Any]:
        return present(message, files=self.store.files, tokens=self.files, site_url=self.site_url)

    def emit(
        self, switch: str, event: str, room: dict[str, Any], messages: list[dict[str, Any]]
    ) -> None:
        """Send one webhook if its setting is on (`LivechatEdit` has no setting, §4.4)."""
        if (event != "LivechatEdit" and switch not in self.webhook_events) or not self.webhook_url:
            return
        payload = build_payload(self.store, room, event, messages, self.present)
        self.webhook_payloads.append(payload)
        if self.drop_webhooks:
            self.dropped_webhooks.append(payload)
            return
        self._send(payload)

    async def redeliver_last_webhook(self) -> None:
        """POST the last webhook payload again: the duplicate a receiver gets when it
        answered too slowly (§4.2, PR #28219). Delivery runs in the background."""
        if not self.webhook_payloads:
            raise RuntimeError("no webhook was sent yet")
        self._send(self.webhook_payloads[-1])

    def _send(self, payload: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        rid = payload["_id"]

        def remember(text: str) -> None:
            stored_room = self.store.rooms.get(rid)
            if stored_room is not None:
                stored_room["crmData"] = text

        self._sender.send(
            str(payload["type"]),
            payload,
            target=(self.webhook_url, self.webhook_token),
            limits=(self.webhook_timeout, self.webhook_retry_delay),
            on_success=remember,
        )
