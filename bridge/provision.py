"""`python -m bridge setup`: prepare a Rocket.Chat server for the bridge, once.

IT runs this after the stack is up (docs/deployment.md). Every step prints exactly one line,
`ok`, `changed`, `skipped`, `would change`, `WARNING` or `FAILED: reason`, so the output can
be pasted into a ticket as it is. Secrets never reach the output: every line is scrubbed of
the tokens and passwords this command knows about.

It uses the synchronous `rocketchat_API` client on purpose: this is a one-off admin command,
not the daemon, whose async client lives in bridge/rocketchat/. The library lacks the
Omnichannel admin endpoints, so those go through its generic `call_api_get`/`call_api_post`.
Facts about the endpoints are in shared/contracts/rocketchat-omnichannel.md (§3.2, §3.6,
§3.7, §1.4).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit

import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
    RocketBadStatusCodeException,
    RocketConnectionException,
)
from rocketchat_API.rocketchat import RocketChat

from bridge.settings import Settings

OK = "ok"
CHANGED = "changed"
SKIPPED = "skipped"
WOULD_CHANGE = "would change"
WARNING = "WARNING"
FAILED = "FAILED"

ADMIN_PASSWORD_ENV = "ROCKETCHAT_ADMIN_PASSWORD"  # noqa: S105 - a variable name, not a password
WEBHOOK_PATH = "/webhooks/rocketchat"
SUPPORTED_MAJORS = (7, 8)
HTTP_TIMEOUT_SECONDS = 15
# Rocket.Chat caches settings and spreads changes through MongoDB change streams, so a
# webhook.test sent right after changing the URL may still see the old one: wait, try again.
WEBHOOK_SETTLE_SECONDS = 2.0
_PAGE = 100

# Everything that can go wrong talking to Rocket.Chat through rocketchat_API. ValueError
# covers a non-JSON answer (a proxy's HTML page) and our own "unexpected answer".
_API_ERRORS = (
    RocketApiException,
    RocketBadStatusCodeException,
    RocketAuthenticationException,
    RocketConnectionException,
    requests.RequestException,
    ValueError,
)

# omnichannel/integrations body key -> setting id in livechat/integrations.settings, with
# the label printed for it. The events are the ones the bridge handles (DESIGN §4); visitor
# messages stay off because the bridge wrote them itself and would only get echoes back.
_WEBHOOK_FIELDS: dict[str, tuple[str, str]] = {
    "LivechatWebhookUrl": ("Livechat_webhookUrl", "url"),
    "LivechatSecretToken": ("Livechat_secret_token", "secret token"),
    "LivechatHttpTimeout": ("Livechat_http_timeout", "timeout"),
    "LivechatWebhookOnAgentMessage": ("Livechat_webhook_on_agent_message", "agent messages"),
    "LivechatWebhookOnClose": ("Livechat_webhook_on_close", "close"),
    "LivechatWebhookOnForward": ("Livechat_webhook_on_forward", "forward"),
    "LivechatWebhookOnChatTaken": ("Livechat_webhook_on_chat_taken", "chat taken"),
    "LivechatWebhookOnVisitorMessage": (
        "Livechat_webhook_on_visitor_message",
        "visitor messages (off)",
    ),
}

_CE_DEPARTMENT_LIMIT = (
    "Rocket.Chat Community Edition allows only one Omnichannel department and {existing} "
    "already exists; set ROCKETCHAT_DEPARTMENT to that department's name or id (the bridge "
    "still labels rooms by service), or use an Enterprise licence for several departments"
)


@dataclass
class Report:
    """Prints one line per step and keeps the score; scrubs known secrets from every line."""

    out: TextIO
    secrets: tuple[str, ...]
    failures: int = 0
    warnings: int = 0
    changes: int = 0

    def line(self, step: str, status: str, detail: str = "") -> None:
        self.failures += status == FAILED
        self.warnings += status == WARNING
        self.changes += status == CHANGED
        text = f"{step:<13} {status}" + (f": {detail}" if detail else "")
        for secret in self.secrets:
            text = text.replace(secret, "***")
        self.out.write(text + "\n")
        self.out.flush()

    def finish(self) -> int:
        summary = f"{self.changes} changed, {self.warnings} warning(s), {self.failures} failed"
        self.line("setup", FAILED if self.failures else OK, summary)
        return 1 if self.failures else 0


def run_setup(
    settings: Settings,
    *,
    admin_user: str | None,
    admin_password: str | None,
    bridge_url: str,
    dry_run: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Provision Rocket.Chat for the bridge; returns the exit status (0 ok, 1 failed, 2 usage)."""
    report = Report(out, _secrets(settings, admin_password))
    if not _is_http_url(bridge_url):
        report.line("bridge url", FAILED, f"{bridge_url!r} is not an http(s) URL")
        return 2
    report.line("rocket.chat", OK, _without_userinfo(settings.rocketchat_base))
    rc = _connect(settings, admin_user, admin_password, report)
    if rc is None:
        return report.finish()
    try:
        _run_steps(rc, settings, bridge_url, dry_run, report)
    finally:
        _disconnect(rc, logged_in=bool(admin_user))
    return report.finish()


def _run_steps(
    rc: RocketChat, settings: Settings, bridge_url: str, dry_run: bool, report: Report
) -> None:
    _check_version(rc, report)
    _check_omnichannel(rc, report)
    _ensure_department(rc, settings.rocketchat_department, dry_run, report)
    changed = _configure_webhook(rc, settings, bridge_url, dry_run, report)
    _test_webhook(rc, changed, dry_run, report)
    _check_rate_limiter(rc, report)


def _connect(
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
        me = _json(rc.me())
    except _API_ERRORS as exc:
        report.line("login", FAILED, _login_reason(exc, settings.rocketchat_base))
        rc.session.close()
        return None
    _report_login(me, how, report)
    return rc


_NO_CREDENTIALS = (
    "no credentials: pass --admin-user (the password is asked for), or set "
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
    return _reason(exc, base)


def _disconnect(rc: RocketChat, *, logged_in: bool) -> None:
    """Drop the login token this run created (a personal access token is left alone)."""
    if logged_in:
        with contextlib.suppress(*_API_ERRORS):  # best effort: the token expires on its own
            rc.logout()
    rc.session.close()


def _check_version(rc: RocketChat, report: Report) -> None:
    try:
        version = str(_json(rc.info()).get("version") or "")
    except _API_ERRORS as exc:
        report.line("version", WARNING, "could not read /api/info: " + _reason(exc))
        return
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) in SUPPORTED_MAJORS:
        report.line("version", OK, f"Rocket.Chat {version}")
    else:
        report.line(
            "version",
            WARNING,
            f"Rocket.Chat {version or 'unknown'}: the bridge is written and tested for 7.x "
            "and 8.x; other versions differ in the Omnichannel API",
        )


def _check_omnichannel(rc: RocketChat, report: Report) -> None:
    try:
        config = _json(_json(rc.call_api_get("livechat/config")).get("config"))
    except _API_ERRORS as exc:
        report.line("omnichannel", FAILED, _reason(exc))
        return
    if config.get("enabled") is True:
        report.line("omnichannel", OK, "enabled")
    else:
        report.line(
            "omnichannel",
            FAILED,
            "disabled: turn on Administration › Workspace › Settings › Omnichannel › "
            "'Omnichannel enabled' (or OVERWRITE_SETTING_Livechat_enabled=true)",
        )


def _ensure_department(rc: RocketChat, wanted: str, dry_run: bool, report: Report) -> None:
    if not wanted:
        report.line("department", SKIPPED, "ROCKETCHAT_DEPARTMENT is empty: no default department")
        return
    try:
        departments = _list_departments(rc)
    except _API_ERRORS as exc:
        report.line("department", FAILED, "cannot list departments: " + _reason(exc))
        return
    found = next((d for d in departments if wanted in (d.get("_id"), d.get("name"))), None)
    if found is not None:
        _report_found_department(found, report)
    elif dry_run:
        report.line("department", WOULD_CHANGE, f"create {wanted!r}")
    else:
        _create_department(rc, wanted, departments, report)


def _list_departments(rc: RocketChat) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = _json(rc.call_api_get("livechat/department", offset=len(found), count=_PAGE))
        items = [d for d in page.get("departments") or [] if isinstance(d, dict)]
        found.extend(items)
        if not items or len(found) >= int(page.get("total") or 0):
            return found


def _report_found_department(department: Mapping[str, Any], report: Report) -> None:
    detail = f"{department.get('name')!r} exists (id {department.get('_id')})"
    if department.get("enabled") is False:
        report.line("department", WARNING, detail + " but is disabled")
    elif department.get("numAgents") == 0:
        # Rooms for a department without agents fail with no-agent-online (contract §2.3).
        report.line("department", WARNING, detail + " but has no agents: add them in " + _AGENTS)
    else:
        report.line("department", OK, detail)


_AGENTS = "Omnichannel › Departments"


def _create_department(
    rc: RocketChat, name: str, existing: list[dict[str, Any]], report: Report
) -> None:
    # email is required by Rocket.Chat's check() but may be empty; it only receives the
    # offline-form messages, which the bridge does not use.
    department = {
        "name": name,
        "enabled": True,
        "showOnRegistration": True,
        "showOnOfflineForm": False,
        "email": "",
        "description": "WhatsApp citizens (rocketchat-whatsapp-bridge)",
    }
    try:
        created = _json(rc.call_api_post("livechat/department", department=department))
    except _API_ERRORS as exc:
        report.line("department", FAILED, _department_failure(exc, existing))
        return
    new_id = _json(created.get("department")).get("_id")
    report.line("department", CHANGED, f"created {name!r} (id {new_id}); add agents in {_AGENTS}")


def _department_failure(exc: BaseException, existing: list[dict[str, Any]]) -> str:
    if "error-max-departments-number-reached" in _error_text(exc):
        names = ", ".join(repr(d.get("name")) for d in existing) or "another department"
        return _CE_DEPARTMENT_LIMIT.format(existing=names)
    return "cannot create it: " + _reason(exc)


def _configure_webhook(
    rc: RocketChat, settings: Settings, bridge_url: str, dry_run: bool, report: Report
) -> bool:
    """Point the Omnichannel webhook at the bridge; True when this run changed it."""
    desired = _desired_webhook(settings, bridge_url)
    if not desired["LivechatSecretToken"]:
        report.line("webhook", FAILED, _UNSIGNED_WEBHOOK_HELP)
        return False
    differing = _webhook_differences(_current_webhook(rc), desired)
    summary = _webhook_summary(desired)
    if not differing:
        report.line("webhook", OK, summary)
        return False
    labels = ", ".join(_WEBHOOK_FIELDS[key][1] for key in differing)
    url = desired["LivechatWebhookUrl"]
    if dry_run:
        report.line("webhook", WOULD_CHANGE, f"{labels}; Rocket.Chat would post to {url}")
        return False
    try:
        rc.call_api_post("omnichannel/integrations", body=desired)
    except _API_ERRORS as exc:
        report.line("webhook", FAILED, "cannot save the webhook settings: " + _reason(exc))
        return False
    report.line("webhook", CHANGED, f"updated {labels}; Rocket.Chat now posts to {url}")
    return True


_UNSIGNED_WEBHOOK_HELP = (
    "ROCKETCHAT_WEBHOOK_TOKEN is empty: Rocket.Chat would send no secret and the bridge "
    "could not tell its webhooks from anyone else's; set a long random value"
)


def _desired_webhook(settings: Settings, bridge_url: str) -> dict[str, object]:
    return {
        "LivechatWebhookUrl": bridge_url.rstrip("/") + WEBHOOK_PATH,
        "LivechatSecretToken": settings.rocketchat_webhook_token.get_secret_value(),
        "LivechatHttpTimeout": 5000,
        "LivechatWebhookOnAgentMessage": True,
        "LivechatWebhookOnClose": True,
        "LivechatWebhookOnForward": True,
        "LivechatWebhookOnChatTaken": True,
        "LivechatWebhookOnVisitorMessage": False,
    }


def _current_webhook(rc: RocketChat) -> dict[str, object] | None:
    """The saved webhook settings by setting id, or None when they cannot be read."""
    try:
        answer = _json(rc.call_api_get("livechat/integrations.settings"))
    except _API_ERRORS:
        return None  # unknown: write them anyway; a permission problem shows up there
    return {
        str(item.get("_id")): item.get("value")
        for item in answer.get("settings") or []
        if isinstance(item, dict)
    }


def _webhook_differences(
    current: Mapping[str, object] | None, desired: Mapping[str, object]
) -> list[str]:
    if current is None:
        return list(desired)
    return [key for key, value in desired.items() if current.get(_WEBHOOK_FIELDS[key][0]) != value]


def _webhook_summary(desired: Mapping[str, object]) -> str:
    return (
        f"{desired['LivechatWebhookUrl']} (secret token set; events: agent messages, close, "
        "forward, chat taken; visitor messages off)"
    )


def _test_webhook(rc: RocketChat, changed: bool, dry_run: bool, report: Report) -> None:
    if dry_run:
        report.line("webhook test", SKIPPED, "dry run")
        return
    try:
        _send_webhook_test(rc, retry=changed)
    except _API_ERRORS as exc:
        report.line("webhook test", FAILED, _webhook_test_failure(exc))
        return
    report.line("webhook test", OK, "the bridge answered 200")


def _send_webhook_test(rc: RocketChat, *, retry: bool) -> None:
    try:
        rc.call_api_post("livechat/webhook.test")
    except _API_ERRORS:
        if not retry:
            raise
        time.sleep(WEBHOOK_SETTLE_SECONDS)
        rc.call_api_post("livechat/webhook.test")


def _webhook_test_failure(exc: BaseException) -> str:
    text = _error_text(exc)
    if "error-invalid-webhook-response" in text:
        return (
            "the bridge did not answer 200: is it running, can Rocket.Chat reach the URL "
            "above, and is ROCKETCHAT_WEBHOOK_TOKEN the same for both?"
        )
    if "Webhook_URL_not_set" in text:
        return "Rocket.Chat has no webhook URL (see the webhook line above)"
    return _reason(exc)


def _check_rate_limiter(rc: RocketChat, report: Report) -> None:
    try:
        value = _json(rc.settings_get("API_Enable_Rate_Limiter")).get("value")
    except _API_ERRORS as exc:
        why = "only an admin can read it" if _status(exc) == 403 else _reason(exc)
        report.line("rate limiter", SKIPPED, f"{why}; make sure API_Enable_Rate_Limiter is false")
        return
    if value is False:
        report.line("rate limiter", OK, "API_Enable_Rate_Limiter is off")
    else:
        report.line("rate limiter", WARNING, "API_Enable_Rate_Limiter is on: " + _LIMITER_WHY)


# Contract §1.4 and §10.1: the limiter keys on client IP, and every citizen's calls come
# from the bridge's one IP.
_LIMITER_WHY = (
    "livechat/visitor and livechat/room allow 5 calls a minute per IP and every citizen "
    "shares the bridge's IP; set OVERWRITE_SETTING_API_Enable_Rate_Limiter=false "
    "(docs/deployment.md)"
)


def _json(value: Any) -> dict[str, Any]:
    """Rocket.Chat answers JSON objects; anything else is a wrong URL or a proxy page."""
    if not isinstance(value, dict):
        raise ValueError("unexpected answer (not a Rocket.Chat API object)")
    return value


def _error_text(exc: BaseException) -> str:
    """Rocket.Chat's `error` (which usually ends in `[errorType]`), else its `message`."""
    body = getattr(exc, "response_json", None)
    if not isinstance(body, dict):
        return ""
    error = str(body.get("error") or body.get("message") or "")
    error_type = str(body.get("errorType") or "")
    return error if error_type in error else f"{error} [{error_type}]"


def _reason(exc: BaseException, base: str = "") -> str:
    """One short line for an error; never the raw body, which may echo a request."""
    if isinstance(exc, requests.RequestException) and not isinstance(exc, ValueError):
        where = f" {_without_userinfo(base)}" if base else " Rocket.Chat"
        return f"cannot reach{where} ({type(exc).__name__}): check ROCKETCHAT_URL"
    status = _status(exc)
    if status is None:
        return str(exc) or type(exc).__name__
    message = " ".join(_error_text(exc).split())[:200] or "no error message"
    return f"HTTP {status}: {message}{_STATUS_HINTS.get(status, '')}"


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


_STATUS_HINTS = {
    401: " (ROCKETCHAT_USER_ID / ROCKETCHAT_AUTH_TOKEN refused?)",
    403: " (the account lacks a permission: give it the livechat-manager role or use an admin)",
    404: " (is ROCKETCHAT_URL the Rocket.Chat root URL?)",
}


def _secrets(settings: Settings, admin_password: str | None) -> tuple[str, ...]:
    values = (
        settings.rocketchat_webhook_token.get_secret_value(),
        settings.rocketchat_auth_token.get_secret_value(),
        settings.whatsapp_access_token.get_secret_value(),
        settings.whatsapp_app_secret.get_secret_value(),
        settings.whatsapp_verify_token.get_secret_value(),
        admin_password or "",
    )
    # Very short values would blank out ordinary words; they are not secrets worth the name.
    return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
