"""Logging in to Rocket.Chat as the admin or the service account, and out again."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketAuthenticationException,
    RocketConnectionException,
)
from rocketchat_API.rocketchat import RocketChat

from bridge.provision.errors import API_ERRORS, as_object, reason
from bridge.provision.report import FAILED, OK, WARNING, Report
from bridge.settings import Settings

ADMIN_PASSWORD_ENV = "ROCKETCHAT_ADMIN_PASSWORD"  # noqa: S105 - a variable name, not a password
HTTP_TIMEOUT_SECONDS = 15


def connect(
    settings: Settings, admin_user: str | None, admin_password: str | None, report: Report
) -> RocketChat | None:
    """Log in as the admin when given, else use the service account's personal token."""
    user_id = settings.rocketchat_user_id
    token = settings.rocketchat_auth_token.get_secret_value()
    if admin_user and not admin_password:
        report.line("login", FAILED, f"no password for {admin_user} (set ${ADMIN_PASSWORD_ENV})")
        return None
    if not admin_user and not (user_id and token):
        report.line("login", FAILED, _NO_CREDENTIALS)
        return None
    rc = RocketChat(server_url=settings.rocketchat_base, timeout=HTTP_TIMEOUT_SECONDS)
    how = "password"
    try:
        if admin_user:
            rc.login(admin_user, admin_password)
        else:
            rc.headers.update({"X-User-Id": user_id, "X-Auth-Token": token})
            how = "ROCKETCHAT_USER_ID + ROCKETCHAT_AUTH_TOKEN"
        me = as_object(rc.me())
    except API_ERRORS as exc:
        report.line("login", FAILED, _login_reason(exc, settings.rocketchat_base))
        rc.session.close()
        return None
    _report_login(me, how, report)
    return rc


_NO_CREDENTIALS = (
    f"no credentials: pass --admin-user with its password in ${ADMIN_PASSWORD_ENV}, or set "
    "ROCKETCHAT_USER_ID and ROCKETCHAT_AUTH_TOKEN (the service account's personal access token)"
)


def _report_login(me: Mapping[str, Any], how: str, report: Report) -> None:
    roles = [str(role) for role in me.get("roles") or []]
    detail = f"as {me.get('username', '?')} via {how} (roles: {', '.join(roles) or 'none'})"
    if {"admin", "livechat-manager"} & set(roles):
        report.line("login", OK, detail)
    else:
        report.line("login", WARNING, detail + "; setup needs the livechat-manager or admin role")


def _login_reason(exc: BaseException, base: str) -> str:
    if isinstance(exc, RocketAuthenticationException):
        return (
            "user name or password refused (HTTP 401); an account with two-factor "
            "authentication cannot log in here: use the service account's token instead"
        )
    if isinstance(exc, RocketConnectionException):
        return "login refused (two-factor authentication required?): use a personal access token"
    return reason(exc, base)


def disconnect(rc: RocketChat, *, logged_in: bool) -> None:
    """Drop the login token this run created (a personal access token is left alone)."""
    if logged_in:
        with contextlib.suppress(*API_ERRORS):  # best effort: the token expires on its own
            rc.logout()
    rc.session.close()
