"""The setup command itself: check the arguments, log in, run every step, log out."""

from __future__ import annotations

import sys
from typing import TextIO
from urllib.parse import urlsplit

from rocketchat_API.rocketchat import RocketChat

from bridge.provision.checks import check_omnichannel, check_rate_limiter, check_version
from bridge.provision.departments import ensure_department
from bridge.provision.errors import without_userinfo
from bridge.provision.login import connect, disconnect
from bridge.provision.report import FAILED, OK, Report
from bridge.provision.webhook import configure_webhook, run_webhook_test
from bridge.settings import Settings


def run_setup(
    settings: Settings,
    *,
    admin_user: str | None,
    admin_password: str | None,
    bridge_url: str,
    dry_run: bool = False,
    replace_webhook: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Provision Rocket.Chat for the bridge; returns the exit status (0 ok, 1 failed, 2 usage)."""
    report = Report(out, secrets_of(settings, admin_password))
    if not _is_http_url(bridge_url):
        report.line("bridge url", FAILED, f"{bridge_url!r} is not an http(s) URL")
        return 2
    report.line("rocket.chat", OK, without_userinfo(settings.rocketchat_base))
    rc = connect(settings, admin_user, admin_password, report)
    if rc is None:
        return report.finish()
    try:
        _run_steps(rc, settings, bridge_url, dry_run, report, replace_webhook=replace_webhook)
    finally:
        disconnect(rc, logged_in=bool(admin_user))
    return report.finish()


def _run_steps(
    rc: RocketChat,
    settings: Settings,
    bridge_url: str,
    dry_run: bool,
    report: Report,
    *,
    replace_webhook: bool,
) -> None:
    check_version(rc, report)
    check_omnichannel(rc, report)
    ensure_department(rc, settings.rocketchat_department, dry_run, report)
    changed = configure_webhook(rc, settings, bridge_url, dry_run, report, replace=replace_webhook)
    run_webhook_test(rc, changed, dry_run, report)
    check_rate_limiter(rc, report)


def secrets_of(settings: Settings, admin_password: str | None) -> tuple[str, ...]:
    """Every secret the output must never show (as ***)."""
    values = (
        settings.rocketchat_webhook_token.get_secret_value(),
        settings.rocketchat_auth_token.get_secret_value(),
        settings.whatsapp_access_token.get_secret_value(),
        settings.whatsapp_app_secret.get_secret_value(),
        settings.whatsapp_verify_token.get_secret_value(),
        admin_password or "",
        *(token for _, token in settings.numbers()),
        settings.bridge_token_secret.get_secret_value(),
        *(n.app_secret.get_secret_value() for n in settings.whatsapp_numbers if n.app_secret),
    )
    # Very short values would blank out ordinary words; they are not secrets worth the name.
    return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
