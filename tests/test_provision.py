"""`python -m bridge setup` against a small fake Rocket.Chat served over real HTTP.

rocketchat_API talks through `requests`, which aioresponses cannot intercept, so the fake is
an aiohttp app on 127.0.0.1 (port 0) in a background thread. It follows the contract notes
(shared/contracts/rocketchat-omnichannel.md §1.3, §3.1, §3.2, §3.6, §3.7) and records every
request, so the tests assert what setup sent as well as what it printed. The fake also plays
the bridge: `webhook.test` really POSTs to the configured URL, and the fake bridge answers
200 only for the right `X-RocketChat-Livechat-Token`.
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bridge import provision
from bridge.provision import run_setup
from bridge.settings import Settings

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


@pytest.fixture
def fake() -> FakeRocketChat:
    return FakeRocketChat()


@pytest.fixture
def server(fake: FakeRocketChat) -> Iterator[str]:
    with Served(fake.app()) as served:
        yield served.url


@pytest.fixture(autouse=True)
def _no_settle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision, "WEBHOOK_SETTLE_SECONDS", 0.0)


def make_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "whatsapp_access_token": "EAAG-access-token-value",
        "whatsapp_app_secret": "app-secret-value",
        "whatsapp_verify_token": "verify-token-value",
        "whatsapp_phone_number_id": "123456789",
        "rocketchat_url": url,
        "rocketchat_webhook_token": WEBHOOK_TOKEN,
        "rocketchat_user_id": "svc-id",
        "rocketchat_auth_token": SERVICE_TOKEN,
        "rocketchat_department": "Atendimento 156",
        **overrides,
    }
    return Settings(_env_file=None, **values)


def setup(
    url: str, *, admin: bool = True, dry_run: bool = False, **overrides: Any
) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_setup(
        make_settings(url, **overrides),
        admin_user="admin" if admin else None,
        admin_password=ADMIN_PASSWORD if admin else None,
        bridge_url=url + "/bridge",
        dry_run=dry_run,
        out=out,
    )
    return code, out.getvalue().splitlines()


def status_of(lines: list[str], step: str) -> str:
    """The text after the step name, e.g. 'ok: enabled'."""
    matching = [line[13:].strip() for line in lines if line[:13].strip() == step]
    assert len(matching) == 1, (step, lines)
    return matching[0]


def assert_no_secrets(lines: list[str]) -> None:
    text = "\n".join(lines)
    for secret in (ADMIN_PASSWORD, SERVICE_TOKEN, WEBHOOK_TOKEN, LOGIN_TOKEN):
        assert secret not in text


def test_fresh_server_is_provisioned(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server)

    assert code == 0
    assert [line.split()[0] for line in lines] == [
        "rocket.chat", "login", "version", "omnichannel", "department", "webhook", "webhook",
        "rate", "setup",
    ]  # fmt: skip
    assert status_of(lines, "login") == "ok: as admin via password (roles: admin, user)"
    assert status_of(lines, "version") == "ok: Rocket.Chat 8.5.0"
    assert status_of(lines, "omnichannel") == "ok: enabled"
    assert status_of(lines, "department").startswith(
        "changed: created 'Atendimento 156' (id dep1); add agents in Omnichannel › Departments"
    )
    assert status_of(lines, "webhook").startswith(
        "changed: updated url, secret token, agent messages"
    )
    assert status_of(lines, "webhook test") == "ok: the bridge answered 200"
    assert status_of(lines, "rate limiter").startswith("WARNING: API_Enable_Rate_Limiter is on")
    assert status_of(lines, "setup") == "ok: 2 changed, 1 warning(s), 0 failed"
    assert_no_secrets(lines)

    (saved,) = fake.requests("POST", "/api/v1/omnichannel/integrations")
    assert saved.body == {
        "LivechatWebhookUrl": server + "/bridge/webhooks/rocketchat",
        "LivechatSecretToken": WEBHOOK_TOKEN,
        "LivechatHttpTimeout": 5000,
        "LivechatWebhookOnAgentMessage": True,
        "LivechatWebhookOnClose": True,
        "LivechatWebhookOnForward": True,
        "LivechatWebhookOnChatTaken": True,
        "LivechatWebhookOnVisitorMessage": False,
    }
    assert saved.user_id == "admin-id"
    (created,) = fake.requests("POST", "/api/v1/livechat/department")
    assert created.body["department"]["name"] == "Atendimento 156"
    assert created.body["department"]["enabled"] is True
    assert fake.bridge_hits == 1
    assert len(fake.requests("POST", "/api/v1/logout")) == 1  # the login token is dropped


def test_second_run_changes_nothing(server: str, fake: FakeRocketChat) -> None:
    setup(server)
    fake.calls.clear()
    fake.departments[0]["numAgents"] = 2
    fake.rate_limiter = False

    code, lines = setup(server)

    assert code == 0
    assert status_of(lines, "department") == "ok: 'Atendimento 156' exists (id dep1)"
    assert status_of(lines, "webhook").startswith(f"ok: {server}/bridge/webhooks/rocketchat")
    assert status_of(lines, "rate limiter") == "ok: API_Enable_Rate_Limiter is off"
    assert status_of(lines, "setup") == "ok: 0 changed, 0 warning(s), 0 failed"
    assert not fake.requests("POST", "/api/v1/livechat/department")
    assert not fake.requests("POST", "/api/v1/omnichannel/integrations")


def test_department_is_found_by_id(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "abc123", "name": "SAC", "enabled": True, "numAgents": 3})

    code, lines = setup(server, rocketchat_department="abc123")

    assert code == 0
    assert status_of(lines, "department") == "ok: 'SAC' exists (id abc123)"


def test_department_without_agents_is_a_warning(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "d1", "name": "Atendimento 156", "numAgents": 0})

    code, lines = setup(server)

    assert code == 0
    assert status_of(lines, "department").startswith("WARNING: 'Atendimento 156' exists")
    assert "has no agents" in status_of(lines, "department")


def test_community_edition_limit_is_explained(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "d1", "name": "Geral", "enabled": True, "numAgents": 1})

    code, lines = setup(server)

    assert code == 1
    department = status_of(lines, "department")
    assert department.startswith("FAILED: Rocket.Chat Community Edition allows only one")
    assert "'Geral' already exists" in department
    assert "ROCKETCHAT_DEPARTMENT" in department
    assert status_of(lines, "setup") == "FAILED: 1 changed, 1 warning(s), 1 failed"


def test_service_account_token_without_admin(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server, admin=False)

    assert code == 0
    assert status_of(lines, "login") == (
        "ok: as bridge-bot via ROCKETCHAT_USER_ID + ROCKETCHAT_AUTH_TOKEN (roles: livechat-manager)"
    )
    # Only an admin can read the setting: the step says so instead of guessing.
    limiter = status_of(lines, "rate limiter")
    assert (
        limiter == "skipped: only an admin can read it; make sure API_Enable_Rate_Limiter is false"
    )
    assert not fake.requests("POST", "/api/v1/login")
    assert not fake.requests("POST", "/api/v1/logout")  # a personal token is not ours to drop
    assert {c.user_id for c in fake.calls if c.path.startswith("/api/")} == {"svc-id"}
    assert_no_secrets(lines)


def test_account_without_omnichannel_role(server: str, fake: FakeRocketChat) -> None:
    fake.roles["svc-id"] = ["bot"]

    code, lines = setup(server, admin=False)

    assert code == 1
    assert status_of(lines, "login").startswith("WARNING: as bridge-bot")
    assert status_of(lines, "department").startswith("FAILED: cannot create it: HTTP 403")
    assert "livechat-manager role" in status_of(lines, "webhook")


def test_wrong_shared_secret_fails_the_webhook_test(server: str, fake: FakeRocketChat) -> None:
    fake.bridge_token = "the bridge has another token"

    code, lines = setup(server)

    assert code == 1
    test_line = status_of(lines, "webhook test")
    assert test_line.startswith("FAILED: the bridge did not answer 200")
    assert "ROCKETCHAT_WEBHOOK_TOKEN" in test_line
    # Retried once because the webhook had just been changed (settings propagate lazily).
    assert len(fake.requests("POST", "/api/v1/livechat/webhook.test")) == 2


def test_wrong_password_stops_early(server: str, fake: FakeRocketChat) -> None:
    out = io.StringIO()
    code = run_setup(
        make_settings(server),
        admin_user="admin",
        admin_password="wrong password",
        bridge_url=server + "/bridge",
        out=out,
    )

    lines = out.getvalue().splitlines()
    assert code == 1
    assert status_of(lines, "login").startswith("FAILED: user name or password refused")
    assert [c.path for c in fake.calls] == ["/api/v1/login"]
    assert "wrong password" not in out.getvalue()


def test_rejected_personal_token(server: str) -> None:
    code, lines = setup(server, admin=False, rocketchat_auth_token="revoked-token-value")

    assert code == 1
    assert status_of(lines, "login") == (
        "FAILED: HTTP 401: You must be logged in to do this. "
        "(ROCKETCHAT_USER_ID / ROCKETCHAT_AUTH_TOKEN refused?)"
    )


def test_no_credentials_at_all(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server, admin=False, rocketchat_user_id="", rocketchat_auth_token="")

    assert code == 1
    assert status_of(lines, "login").startswith("FAILED: no credentials")
    assert not fake.calls


def test_omnichannel_disabled(server: str, fake: FakeRocketChat) -> None:
    fake.livechat_enabled = False

    code, lines = setup(server)

    assert code == 1
    assert status_of(lines, "omnichannel").startswith("FAILED: disabled")


def test_old_version_is_a_warning(server: str, fake: FakeRocketChat) -> None:
    fake.version = "6.14.0"

    code, lines = setup(server)

    assert code == 0
    assert status_of(lines, "version").startswith("WARNING: Rocket.Chat 6.14.0")


def test_dry_run_changes_nothing(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server, dry_run=True)

    assert code == 0
    assert status_of(lines, "department") == "would change: create 'Atendimento 156'"
    assert status_of(lines, "webhook").startswith("would change: url, secret token")
    assert status_of(lines, "webhook test") == "skipped: dry run"
    writes = [c.path for c in fake.calls if c.method == "POST"]
    assert writes == ["/api/v1/login", "/api/v1/logout"]


def test_empty_webhook_token_is_refused(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server, rocketchat_webhook_token="")

    assert code == 1
    assert status_of(lines, "webhook").startswith("FAILED: ROCKETCHAT_WEBHOOK_TOKEN is empty")
    assert not fake.requests("POST", "/api/v1/omnichannel/integrations")


def test_unreachable_server() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    code, lines = setup(url)

    assert code == 1
    assert status_of(lines, "login") == (
        f"FAILED: cannot reach {url} (ConnectionError): check ROCKETCHAT_URL"
    )


def test_bad_bridge_url_is_a_usage_error(server: str, fake: FakeRocketChat) -> None:
    out = io.StringIO()
    code = run_setup(
        make_settings(server), admin_user=None, admin_password=None, bridge_url="bridge:8080",
        out=out,
    )  # fmt: skip

    assert code == 2
    assert "FAILED: 'bridge:8080' is not an http(s) URL" in out.getvalue()
    assert not fake.calls
