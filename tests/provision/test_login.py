"""Logging in: admin password, the service account's token, and every way it fails."""

from __future__ import annotations

import io
import socket

from bridge.provision import run_setup

from .fake_rocketchat import FakeRocketChat
from .helpers import assert_no_secrets, make_settings, setup, status_of


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
    assert "ROCKETCHAT_ADMIN_PASSWORD" in status_of(lines, "login")
    assert not fake.calls


def test_unreachable_server() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    code, lines = setup(url)

    assert code == 1
    assert status_of(lines, "login") == (
        f"FAILED: cannot reach {url} (ConnectionError): check ROCKETCHAT_URL"
    )


def test_admin_user_without_password(server: str, fake: FakeRocketChat) -> None:
    out = io.StringIO()
    code = run_setup(
        make_settings(server),
        admin_user="admin",
        admin_password=None,
        bridge_url=server + "/bridge",
        out=out,
    )

    assert code == 1
    lines = out.getvalue().splitlines()
    assert status_of(lines, "login") == (
        "FAILED: no password for admin (set $ROCKETCHAT_ADMIN_PASSWORD)"
    )
    assert not fake.calls
