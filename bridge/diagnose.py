"""`python -m bridge check`: one line per check, with the fix for each failure, and exit
status 1 on any failure (issue #10 §1).

Settings, texts and the flow were loaded before this runs (a broken one stops there,
naming the variable or the node). Here: the database, the Graph API for every number
(token, phone number id, the app's subscription to the account), and Rocket.Chat through
the same read-only steps `setup --dry-run` takes (rocketchat-API, synchronous, run on a
thread), plus whether anyone is online now."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp
from rocketchat_API.rocketchat import RocketChat

from bridge.core.storage import StorageUnavailable
from bridge.provision.checks import check_omnichannel, check_rate_limiter, check_version
from bridge.provision.command import secrets_of
from bridge.provision.departments import ensure_department
from bridge.provision.errors import API_ERRORS, as_object, reason
from bridge.provision.login import connect, disconnect
from bridge.provision.report import FAILED, OK, SKIPPED, WARNING, WOULD_CHANGE, Report
from bridge.provision.webhook import check_webhook
from bridge.settings import Settings
from bridge.store import StoreError, open_admin_store

GRAPH_TIMEOUT = aiohttp.ClientTimeout(total=15)
SETUP_FIX = "; fix: run `python -m bridge setup`"


@dataclass
class CheckReport(Report):
    """`setup --dry-run`'s "would change" is a failure for `check`, with its fix."""

    def line(self, step: str, status: str, detail: str = "") -> None:
        if status == WOULD_CHANGE:
            status, detail = FAILED, detail + SETUP_FIX
        super().line(step, status, detail)


async def run_check(settings: Settings, out: TextIO = sys.stdout) -> int:
    report = CheckReport(out, secrets_of(settings, None))
    numbers = 1 + len(settings.whatsapp_numbers)
    flow = settings.bridge_flow or "none (no chatbot)"
    report.line("settings", OK, f"{numbers} WhatsApp number(s); flow {flow}; texts"
                f" {settings.bridge_messages}")  # fmt: skip
    await _database(settings, report)
    async with aiohttp.ClientSession(timeout=GRAPH_TIMEOUT) as http:
        for pnid, token in settings.numbers():
            await _graph_number(http, settings, pnid, token, report)
        await _subscription(http, settings, report)
    await asyncio.to_thread(_rocketchat, settings, report)
    return report.finish("check")


async def _database(settings: Settings, report: Report) -> None:
    try:
        store = await open_admin_store(settings.database)
    except (StoreError, OSError) as exc:
        report.line("database", FAILED, f"{settings.database_shown}: {exc}; fix: the directory must"
                    " be writable by the bridge's user (the bridge_data volume)")  # fmt: skip
        return
    try:
        await store.check_writable()
        depth = await store.outbox_depth()
    except StorageUnavailable as exc:
        report.line("database", FAILED, f"{settings.database_shown}: {exc}")
        return
    finally:
        await store.close()
    waiting = ", ".join(f"{n} {state}" for state, n in sorted(depth.items())) or "empty"
    report.line(
        "database", OK, f"{settings.database_shown} writable and migrated; outbox {waiting}"
    )


async def _graph(
    http: aiohttp.ClientSession, settings: Settings, path: str, token: str, **params: str
) -> tuple[int, dict[str, Any]]:
    url = f"{settings.graph_base}/{path}"
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(url, headers=headers, params=params) as answer:
        try:
            body = await answer.json(content_type=None)
        except ValueError:
            body = None
        return answer.status, body if isinstance(body, dict) else {}


async def _graph_number(
    http: aiohttp.ClientSession, settings: Settings, pnid: str, token: str, report: Report
) -> None:
    step = f"whatsapp {pnid}"
    try:
        status, body = await _graph(http, settings, pnid, token,
                                    fields="id,display_phone_number,verified_name")  # fmt: skip
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.line(step, FAILED, f"Graph API unreachable ({type(exc).__name__}); fix: allow"
                    f" outbound HTTPS to {settings.whatsapp_graph_url}")  # fmt: skip
        return
    error = body.get("error") or {}
    code = error.get("code") if isinstance(error, dict) else None
    if status == 200:
        name = body.get("verified_name") or "?"
        report.line(step, OK, f"phone number id {pnid} is +{body.get('display_phone_number')}"
                    f" ({name}); the token reaches it")  # fmt: skip
    elif code == 190 or status == 401:
        report.line(step, FAILED, "the access token is refused (expired or revoked, code 190);"
                    " fix: a system user's permanent token in WHATSAPP_ACCESS_TOKEN"
                    " (docs/deployment.md, step 2)")  # fmt: skip
    elif code in (100, 10, 200):
        report.line(step, FAILED, f"phone number id {pnid} is not reachable with this token"
                    f" (code {code}); fix: copy the Phone number ID from App Dashboard ›"
                    " WhatsApp › API Setup, and assign the WhatsApp account to the system"
                    " user")  # fmt: skip
    else:
        report.line(step, FAILED, f"Graph answered HTTP {status} (code {code})")


async def _subscription(http: aiohttp.ClientSession, settings: Settings, report: Report) -> None:
    waba = settings.whatsapp_business_account_id
    if not waba:
        report.line("subscription", SKIPPED, "set WHATSAPP_BUSINESS_ACCOUNT_ID to check that the"
                    " app is subscribed to the account's webhooks")  # fmt: skip
        return
    token = settings.whatsapp_access_token.get_secret_value()
    try:
        status, body = await _graph(http, settings, f"{waba}/subscribed_apps", token)
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.line("subscription", FAILED, f"Graph API unreachable ({type(exc).__name__})")
        return
    apps = [a.get("whatsapp_business_api_data") or {} for a in body.get("data") or []
            if isinstance(a, dict)]  # fmt: skip
    if status != 200:
        report.line("subscription", FAILED, f"cannot read {waba}/subscribed_apps (HTTP"
                    f" {status}); check WHATSAPP_BUSINESS_ACCOUNT_ID")  # fmt: skip
    elif not apps:
        report.line("subscription", FAILED, "no app is subscribed to the WhatsApp account, so"
                    " Meta sends no webhooks; fix: POST /<WABA_ID>/subscribed_apps"
                    " (docs/deployment.md, step 7)")  # fmt: skip
    else:
        names = ", ".join(str(a.get("name") or a.get("id")) for a in apps)
        # The `messages` field is subscribed on the app (App Dashboard › Webhooks), which
        # a system user's token cannot read.
        report.line("subscription", OK, f"subscribed: {names} (check the `messages` field in"
                    " the App Dashboard › WhatsApp › Configuration)")  # fmt: skip


def _rocketchat(settings: Settings, report: Report) -> None:
    rc = connect(settings, None, None, report)
    if rc is None:
        return
    try:
        check_version(rc, report)
        check_omnichannel(rc, report)
        ensure_department(rc, settings.rocketchat_department, True, report)
        _agents_online(rc, settings.rocketchat_department, report)
        check_webhook(rc, settings, report)
        check_rate_limiter(rc, report)
    finally:
        disconnect(rc, logged_in=False)


def _agents_online(rc: RocketChat, department: str, report: Report) -> None:
    try:
        params = {"department": department} if department else {}
        config = as_object(as_object(rc.call_api_get("livechat/config", **params)).get("config"))
    except API_ERRORS as exc:
        report.line("agents", WARNING, "cannot read livechat/config: " + reason(exc))
        return
    if config.get("online"):
        report.line("agents", OK, "someone is online now to take chats")
    else:
        report.line("agents", WARNING, "nobody is online now: rooms wait or the flow's"
                    " out-of-hours answer is sent")  # fmt: skip
