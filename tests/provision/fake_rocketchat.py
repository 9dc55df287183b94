"""A small fake Rocket.Chat for `python -m bridge setup`, served over real HTTP.

rocketchat_API talks through `requests`, which aioresponses cannot intercept, so the fake is
an aiohttp app on 127.0.0.1 (port 0) in a background thread. It follows the contract notes
(shared/contracts/rocketchat-omnichannel.md §1.3, §3.1, §3.2, §3.6, §3.7) and records every
request, so the tests assert what setup sent as well as what it printed. The fake also plays
the bridge: `webhook.test` really POSTs to the configured URL, and the fake bridge answers
200 only for the right `X-RocketChat-Livechat-Token`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

ADMIN_PASSWORD = "correct horse battery"
SERVICE_TOKEN = "service-account-pat-0123456789"
WEBHOOK_TOKEN = "shared-webhook-secret-abcdef"
LOGIN_TOKEN = "login-resume-token-xyz"
WEBHOOK_KEYS = {
    "LivechatWebhookUrl",
    "LivechatSecretToken",
    "LivechatHttpTimeout",
    "LivechatWebhookOnStart",
    "LivechatWebhookOnClose",
    "LivechatWebhookOnChatTaken",
    "LivechatWebhookOnChatQueued",
    "LivechatWebhookOnForward",
    "LivechatWebhookOnOfflineMsg",
    "LivechatWebhookOnVisitorMessage",
    "LivechatWebhookOnAgentMessage",
}
SETTING_IDS = {  # omnichannel/integrations key -> setting id, as Rocket.Chat maps them
    key: "Livechat_" + name
    for key, name in {
        "LivechatWebhookUrl": "webhookUrl",
        "LivechatSecretToken": "secret_token",
        "LivechatHttpTimeout": "http_timeout",
        "LivechatWebhookOnStart": "webhook_on_start",
        "LivechatWebhookOnClose": "webhook_on_close",
        "LivechatWebhookOnChatTaken": "webhook_on_chat_taken",
        "LivechatWebhookOnChatQueued": "webhook_on_chat_queued",
        "LivechatWebhookOnForward": "webhook_on_forward",
        "LivechatWebhookOnOfflineMsg": "webhook_on_offline_msg",
        "LivechatWebhookOnVisitorMessage": "webhook_on_visitor_message",
        "LivechatWebhookOnAgentMessage": "webhook_on_agent_message",
    }.items()
}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    user_id: str | None


@dataclass
class FakeRocketChat:
    """Just enough of Rocket.Chat 8.x for setup; state is plain data the tests tweak."""

    version: str = "8.5.0"
    livechat_enabled: bool = True
    rate_limiter: bool = True
    departments: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(
        default_factory=lambda: {
            "Livechat_webhookUrl": "",
            "Livechat_secret_token": "",
            "Livechat_http_timeout": 5000,
            **{sid: False for sid in SETTING_IDS.values() if "_on_" in sid},
        }
    )
    bridge_token: str = WEBHOOK_TOKEN  # what the fake bridge accepts
    roles: dict[str, list[str]] = field(
        default_factory=lambda: {"admin-id": ["admin", "user"], "svc-id": ["livechat-manager"]}
    )
    calls: list[Call] = field(default_factory=list)
    bridge_hits: int = 0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._auth])
        app.router.add_post("/api/v1/login", self.login)
        app.router.add_post("/api/v1/logout", self.logout)
        app.router.add_get("/api/v1/me", self.me)
        app.router.add_get("/api/info", self.info)
        app.router.add_get("/api/v1/livechat/config", self.config)
        app.router.add_get("/api/v1/livechat/department", self.list_departments)
        app.router.add_post("/api/v1/livechat/department", self.create_department)
        app.router.add_get("/api/v1/livechat/integrations.settings", self.integration_settings)
        app.router.add_post("/api/v1/omnichannel/integrations", self.save_integrations)
        app.router.add_post("/api/v1/livechat/webhook.test", self.webhook_test)
        app.router.add_get("/api/v1/settings/{id}", self.get_setting)
        app.router.add_post("/bridge/webhooks/rocketchat", self.fake_bridge)
        return app

    def requests(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        user = request.headers.get("X-User-Id")
        self.calls.append(Call(request.method, request.path, dict(request.query), body, user))
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        public = ("/api/info", "/api/v1/login", "/bridge/webhooks/rocketchat")
        user = request.headers.get("X-User-Id")
        tokens = {"admin-id": LOGIN_TOKEN, "svc-id": SERVICE_TOKEN}
        if request.path not in public and tokens.get(user or "") != request.headers.get(
            "X-Auth-Token"
        ):
            text = "You must be logged in to do this."
            return fail(401, error=text, status="error", message=text)
        response: web.StreamResponse = await handler(request)
        return response

    def _user(self, request: web.Request) -> str:
        return request.headers["X-User-Id"]

    def _allowed(self, request: web.Request, *roles: str) -> bool:
        return bool(set(self.roles[self._user(request)]) & {"admin", *roles})

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("username") != "admin" or body.get("password") != ADMIN_PASSWORD:
            return web.json_response(
                {"status": "error", "error": "Unauthorized", "message": "Unauthorized"},
                status=401,
            )
        data = {"userId": "admin-id", "authToken": LOGIN_TOKEN, "me": {"username": "admin"}}
        return web.json_response({"status": "success", "data": data})

    async def logout(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "success", "data": {"message": "You've been logged out!"}}
        )

    async def me(self, request: web.Request) -> web.Response:
        user = self._user(request)
        name = {"admin-id": "admin", "svc-id": "bridge-bot"}[user]
        return ok(_id=user, username=name, roles=self.roles[user])

    async def info(self, request: web.Request) -> web.Response:
        return ok(version=self.version)

    async def config(self, request: web.Request) -> web.Response:
        if not self.livechat_enabled:
            return ok(config={"enabled": False})
        return ok(config={"enabled": True, "online": False, "departments": []})

    async def list_departments(self, request: web.Request) -> web.Response:
        offset, count = int(request.query["offset"]), int(request.query["count"])
        page = self.departments[offset : offset + count]
        return ok(departments=page, count=len(page), offset=offset, total=len(self.departments))

    async def create_department(self, request: web.Request) -> web.Response:
        if not self._allowed(request, "livechat-manager"):
            return forbidden()
        department = (await request.json())["department"]
        if self.departments:  # Community Edition: one department (contract §3.2)
            kind = "error-max-departments-number-reached"
            return fail(
                400, error=f"Maximum number of departments reached [{kind}]", errorType=kind
            )
        created = {"_id": f"dep{len(self.departments) + 1}", "numAgents": 0, **department}
        self.departments.append(created)
        return ok(department=created, agents=[])

    async def integration_settings(self, request: web.Request) -> web.Response:
        if not self._allowed(request, "livechat-manager"):
            return forbidden()
        return ok(settings=[{"_id": k, "value": v} for k, v in self.settings.items()])

    async def save_integrations(self, request: web.Request) -> web.Response:
        if not self._allowed(request, "livechat-manager"):
            return forbidden()
        body = await request.json()
        if set(body) - WEBHOOK_KEYS:  # ajv additionalProperties: false
            return fail(400, error="must NOT have additional properties [invalid-params]")
        for key, value in body.items():
            self.settings[SETTING_IDS[key]] = value
        return ok()

    async def webhook_test(self, request: web.Request) -> web.Response:
        url = self.settings["Livechat_webhookUrl"]
        if not url:
            return fail(400, error="Webhook_URL_not_set")
        headers = {"X-RocketChat-Livechat-Token": self.settings["Livechat_secret_token"]}
        sample = {"type": "LivechatSession", "_id": "fasd6f5a4sd6f8a4sdf", "messages": []}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=sample, headers=headers) as answer,
        ):
            if answer.status != 200:
                return fail(
                    400,
                    error="Invalid webhook response [error-invalid-webhook-response]",
                    errorType="error-invalid-webhook-response",
                )
        return ok()

    async def get_setting(self, request: web.Request) -> web.Response:
        if "admin" not in self.roles[self._user(request)]:
            return forbidden()
        return ok(_id=request.match_info["id"], value=self.rate_limiter)

    async def fake_bridge(self, request: web.Request) -> web.Response:
        self.bridge_hits += 1
        if request.headers.get("X-RocketChat-Livechat-Token") != self.bridge_token:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({})


def ok(**fields: Any) -> web.Response:
    return web.json_response({**fields, "success": True})


def fail(http_status: int, **fields: Any) -> web.Response:
    return web.json_response({"success": False, **fields}, status=http_status)


def forbidden() -> web.Response:
    text = "User does not have the permissions required for this action [error-unauthorized]"
    return fail(403, error=text)


class Served:
    """Runs an aiohttp app on its own event loop in a thread; `url` is its base URL."""

    def __init__(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    def __enter__(self) -> Served:
        self._thread.start()
        assert self._ready.wait(5), "the fake Rocket.Chat did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()
