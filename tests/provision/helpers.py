"""Running `run_setup` against the fake and reading its one-line-per-step output."""

from __future__ import annotations

import io
from typing import Any

from bridge.provision import run_setup
from bridge.settings import Settings

from .fake_rocketchat import ADMIN_PASSWORD, LOGIN_TOKEN, SERVICE_TOKEN, WEBHOOK_TOKEN


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
    url: str,
    *,
    admin: bool = True,
    dry_run: bool = False,
    replace_webhook: bool = False,
    settings: Settings | None = None,
    **overrides: Any,
) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_setup(
        settings or make_settings(url, **overrides),
        admin_user="admin" if admin else None,
        admin_password=ADMIN_PASSWORD if admin else None,
        bridge_url=url + "/bridge",
        dry_run=dry_run,
        replace_webhook=replace_webhook,
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
