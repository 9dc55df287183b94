"""The whole setup run: every step in order, idempotence, dry run, usage errors."""

from __future__ import annotations

import io

from bridge.provision import run_setup

from .fake_rocketchat import WEBHOOK_TOKEN, FakeRocketChat
from .helpers import assert_no_secrets, make_settings, setup, status_of


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


def test_dry_run_changes_nothing(server: str, fake: FakeRocketChat) -> None:
    code, lines = setup(server, dry_run=True)

    assert code == 0
    assert status_of(lines, "department") == "would change: create 'Atendimento 156'"
    assert status_of(lines, "webhook").startswith("would change: url, secret token")
    assert status_of(lines, "webhook test") == "skipped: dry run"
    writes = [c.path for c in fake.calls if c.method == "POST"]
    assert writes == ["/api/v1/login", "/api/v1/logout"]


def test_bad_bridge_url_is_a_usage_error(server: str, fake: FakeRocketChat) -> None:
    out = io.StringIO()
    code = run_setup(
        make_settings(server), admin_user=None, admin_password=None, bridge_url="bridge:8080",
        out=out,
    )  # fmt: skip

    assert code == 2
    assert "FAILED: 'bridge:8080' is not an http(s) URL" in out.getvalue()
    assert not fake.calls
