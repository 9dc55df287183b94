"""`python -m bridge setup` as IT runs it, in a subprocess against the fake Rocket.Chat.

The admin password comes only from the environment (ROCKETCHAT_ADMIN_PASSWORD), never from
argv, where anyone could read it with `ps`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_rocketchat import ADMIN_PASSWORD, SERVICE_TOKEN, WEBHOOK_TOKEN, FakeRocketChat
from .helpers import status_of

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("WHATSAPP_", "ROCKETCHAT_", "BRIDGE_", "LOG_")


@pytest.fixture
def env_file(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "bridge.env"
    path.write_text(
        "WHATSAPP_ACCESS_TOKEN=EAAG-access-token-value\n"
        "WHATSAPP_APP_SECRET=app-secret-value\n"
        "WHATSAPP_VERIFY_TOKEN=verify-token-value\n"
        "WHATSAPP_PHONE_NUMBER_ID=123456789\n"
        f"ROCKETCHAT_URL={server}\n"
        f"ROCKETCHAT_WEBHOOK_TOKEN={WEBHOOK_TOKEN}\n"
        "ROCKETCHAT_USER_ID=svc-id\n"
        f"ROCKETCHAT_AUTH_TOKEN={SERVICE_TOKEN}\n"
        "ROCKETCHAT_DEPARTMENT=Atendimento 156\n"
        f"BRIDGE_MESSAGES={ROOT / 'config' / 'messages.yaml'}\n"
        "BRIDGE_FLOW=\n",
        encoding="utf-8",
    )
    return path


def setup_cli(
    env_file: Path, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    if password is not None:
        env["ROCKETCHAT_ADMIN_PASSWORD"] = password
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bridge", "--env-file", str(env_file), "setup", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_admin_password_is_read_from_the_environment(
    env_file: Path, server: str, fake: FakeRocketChat
) -> None:
    done = setup_cli(
        env_file, "--admin-user", "admin", "--bridge-url", server + "/bridge", "--dry-run",
        password=ADMIN_PASSWORD,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert status_of(lines, "login") == "ok: as admin via password (roles: admin, user)"
    (login,) = fake.requests("POST", "/api/v1/login")
    assert login.body == {"username": "admin", "password": ADMIN_PASSWORD}
    assert ADMIN_PASSWORD not in done.stdout + done.stderr


def test_admin_user_without_the_variable(env_file: Path, fake: FakeRocketChat) -> None:
    done = setup_cli(env_file, "--admin-user", "admin")

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert status_of(lines, "login") == (
        "FAILED: no password for admin (set $ROCKETCHAT_ADMIN_PASSWORD)"
    )
    assert not fake.calls


def test_password_flag_is_refused(env_file: Path, fake: FakeRocketChat) -> None:
    done = setup_cli(env_file, "--admin-user", "admin", "--admin-password", ADMIN_PASSWORD)

    assert done.returncode == 2
    assert "unrecognized arguments: --admin-password" in done.stderr
    assert not fake.calls
