"""The Omnichannel webhook: point it at the bridge, then have Rocket.Chat test it."""

from __future__ import annotations

import time
from collections.abc import Mapping

from rocketchat_API.rocketchat import RocketChat

from bridge.provision.errors import API_ERRORS, as_object, error_text, reason, without_userinfo
from bridge.provision.report import CHANGED, FAILED, OK, SKIPPED, WOULD_CHANGE, Report
from bridge.settings import Settings

WEBHOOK_PATH = "/webhooks/rocketchat"
# Rocket.Chat caches settings and spreads changes through MongoDB change streams, so a
# webhook.test sent right after changing the URL may still see the old one: wait, try again.
WEBHOOK_SETTLE_SECONDS = 2.0

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


def configure_webhook(
    rc: RocketChat,
    settings: Settings,
    bridge_url: str,
    dry_run: bool,
    report: Report,
    *,
    replace: bool = False,
) -> bool:
    """Point the Omnichannel webhook at the bridge; True when this run changed it.

    Rocket.Chat has one Omnichannel webhook per workspace: a different URL already there
    belongs to another integration, and is replaced only with `replace` (--replace-webhook)."""
    desired = _desired_webhook(settings, bridge_url)
    if not desired["LivechatSecretToken"]:
        report.line("webhook", FAILED, _UNSIGNED_WEBHOOK_HELP)
        return False
    current = _current_webhook(rc)
    differing = _webhook_differences(current, desired)
    summary = _webhook_summary(desired)
    if not differing:
        report.line("webhook", OK, summary)
        return False
    labels = ", ".join(_WEBHOOK_FIELDS[key][1] for key in differing)
    url = desired["LivechatWebhookUrl"]
    other = _other_integration(current, str(url))
    if other and not replace:
        status = WOULD_CHANGE if dry_run else FAILED
        report.line("webhook", status, f"Rocket.Chat posts to {other}, not to the bridge: the"
                    " Omnichannel webhook is one per workspace and may serve another"
                    " integration; to point it at the bridge, run again with"
                    " --replace-webhook")  # fmt: skip
        return False
    if other:
        labels += f" (replacing {other})"
    if dry_run:
        report.line("webhook", WOULD_CHANGE, f"{labels}; Rocket.Chat would post to {url}")
        return False
    try:
        rc.call_api_post("omnichannel/integrations", body=desired)
    except API_ERRORS as exc:
        report.line("webhook", FAILED, "cannot save the webhook settings: " + reason(exc))
        return False
    report.line("webhook", CHANGED, f"updated {labels}; Rocket.Chat now posts to {url}")
    return True


def check_webhook(rc: RocketChat, settings: Settings, report: Report) -> None:
    """Read-only (`check`): the webhook points at a bridge, signs with our secret, and
    sends the events the bridge needs."""
    current = _current_webhook(rc)
    if current is None:
        report.line("webhook", SKIPPED, "cannot read livechat/integrations.settings (needs the"
                    " livechat-manager role); run `python -m bridge setup --dry-run`")  # fmt: skip
        return
    url = str(current.get("Livechat_webhookUrl") or "")
    desired = _desired_webhook(settings, "")
    if not url.endswith(WEBHOOK_PATH):
        where = f"points at {without_userinfo(url)}" if url else "is not set"
        report.line("webhook", FAILED, f"the Omnichannel webhook {where}: run `python -m bridge"
                    " setup --bridge-url URL` (see --replace-webhook)")  # fmt: skip
        return
    wrong = [_WEBHOOK_FIELDS[k][1] for k in _webhook_differences(current, desired)
             if k != "LivechatWebhookUrl"]  # fmt: skip
    if wrong:
        report.line("webhook", FAILED, f"{url}: {', '.join(wrong)} differ from what the bridge"
                    " needs: run `python -m bridge setup`")  # fmt: skip
    else:
        report.line("webhook", OK, _webhook_summary({**desired, "LivechatWebhookUrl": url}))


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
        answer = as_object(rc.call_api_get("livechat/integrations.settings"))
    except API_ERRORS:
        return None  # unknown: write them anyway; a permission problem shows up there
    return {
        str(item.get("_id")): item.get("value")
        for item in answer.get("settings") or []
        if isinstance(item, dict)
    }


def _other_integration(current: Mapping[str, object] | None, ours: str) -> str:
    """The URL saved in Rocket.Chat when it is set and is not the bridge's ("" if none)."""
    saved = str((current or {}).get("Livechat_webhookUrl") or "").strip()
    return without_userinfo(saved) if saved and saved != ours else ""


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


def run_webhook_test(rc: RocketChat, changed: bool, dry_run: bool, report: Report) -> None:
    if dry_run:
        report.line("webhook test", SKIPPED, "dry run")
        return
    try:
        _send_webhook_test(rc, retry=changed)
    except API_ERRORS as exc:
        report.line("webhook test", FAILED, _webhook_test_failure(exc))
        return
    report.line("webhook test", OK, "the bridge answered 200")


def _send_webhook_test(rc: RocketChat, *, retry: bool) -> None:
    try:
        rc.call_api_post("livechat/webhook.test")
    except API_ERRORS:
        if not retry:
            raise
        time.sleep(WEBHOOK_SETTLE_SECONDS)
        rc.call_api_post("livechat/webhook.test")


def _webhook_test_failure(exc: BaseException) -> str:
    text = error_text(exc)
    if "error-invalid-webhook-response" in text:
        return (
            "the bridge did not answer 200: is it running, can Rocket.Chat reach the URL "
            "above, and is ROCKETCHAT_WEBHOOK_TOKEN the same for both?"
        )
    if "Webhook_URL_not_set" in text:
        return "Rocket.Chat has no webhook URL (see the webhook line above)"
    return reason(exc)
