"""Webhook settings routes of the Rocket.Chat fake (contract rocketchat-omnichannel.md §3.6).

``omnichannel/integrations`` writes the settings (strict keys), ``integrations.settings``
reads them back by setting id, ``webhook.test`` posts the fixed sample payload and succeeds
only on an exact 200. All need the service account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bridge.sandbox.rocketchat_errors import plain
from bridge.sandbox.rocketchat_http import ok, read_json, require_user
from bridge.sandbox.rocketchat_validate import ajv_strict
from bridge.sandbox.rocketchat_webhooks import INTEGRATION_EVENTS

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

V1 = "/api/v1"
INTEGRATION_TYPES: dict[str, type] = {
    "LivechatWebhookUrl": str,
    "LivechatSecretToken": str,
    "LivechatHttpTimeout": float,
    **dict.fromkeys(INTEGRATION_EVENTS, bool),
}
# Setting ids of the event switches (§4.1).
EVENT_SETTINGS: dict[str, str] = {
    "Livechat_webhook_on_start": "LivechatSessionStart",
    "Livechat_webhook_on_close": "LivechatSession",
    "Livechat_webhook_on_chat_taken": "LivechatSessionTaken",
    "Livechat_webhook_on_chat_queued": "LivechatSessionQueued",
    "Livechat_webhook_on_forward": "LivechatSessionForwarded",
    "Livechat_webhook_on_offline_msg": "LivechatOfflineMessage",
    "Livechat_webhook_on_visitor_message": "Message visitor",
    "Livechat_webhook_on_agent_message": "Message agent",
    "Livechat_webhook_on_capture": "LeadCapture",
}
# The fixed sample of livechat/webhook.test: note e-mail and phone are plain strings here,
# unlike real payloads (§4.3).
SAMPLE: dict[str, Any] = {
    "type": "LivechatSession", "_id": "fasd6f5a4sd6f8a4sdf", "label": "title",
    "topic": "asiodojf", "createdAt": "2025-01-01T00:00:00.000Z",
    "lastMessageAt": "2025-01-01T00:00:00.000Z", "tags": ["tag1", "tag2", "tag3"],
    "customFields": {"productId": "123456"},
    "visitor": {"_id": "", "name": "visitor name", "username": "visitor-username",
                "department": "department", "email": "email@address.com",
                "phone": "192873192873", "ip": "123.456.7.89", "browser": "Chrome",
                "os": "Linux", "customFields": {"customerId": "123456"}},
    "agent": {"_id": "asdf89as6df8", "username": "agent.username", "name": "Agent Name",
              "email": "agent@email.com"},
    "messages": [{"username": "visitor-username", "msg": "message content",
                  "ts": "2025-01-01T00:00:00.000Z"}],
}  # fmt: skip


class SettingsRoutes:
    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake

    def register(self, app: web.Application) -> None:
        app.router.add_post(f"{V1}/omnichannel/integrations", self.integrations)
        app.router.add_get(f"{V1}/livechat/integrations.settings", self.read_settings)
        app.router.add_post(f"{V1}/livechat/webhook.test", self.webhook_test)

    async def integrations(self, request: web.Request) -> web.Response:
        """Strict keys; strings are trimmed; the settings take effect immediately."""
        require_user(self.fake, request)
        body = ajv_strict(await read_json(request), required=(),
                          optional=tuple(INTEGRATION_TYPES), types=INTEGRATION_TYPES)  # fmt: skip
        fake = self.fake
        fake.integration_settings.update(body)
        if "LivechatWebhookUrl" in body:
            fake.webhook_url = body["LivechatWebhookUrl"].strip() or None
        if "LivechatSecretToken" in body:
            fake.webhook_token = body["LivechatSecretToken"].strip()
        if "LivechatHttpTimeout" in body:
            fake.webhook_timeout = float(body["LivechatHttpTimeout"]) / 1000
        for key, event in INTEGRATION_EVENTS.items():
            if body.get(key) is True:
                fake.webhook_events.add(event)
            elif body.get(key) is False:
                fake.webhook_events.discard(event)
        return ok()

    async def read_settings(self, request: web.Request) -> web.Response:
        require_user(self.fake, request)
        fake = self.fake
        values: dict[str, Any] = {
            "Livechat_webhookUrl": fake.webhook_url or "",
            "Livechat_secret_token": fake.webhook_token,
            "Livechat_http_timeout": round(fake.webhook_timeout * 1000),
        }
        for setting, event in EVENT_SETTINGS.items():
            values[setting] = event in fake.webhook_events
        settings = [{"_id": key, "value": value} for key, value in values.items()]
        return ok({"settings": settings})

    async def webhook_test(self, request: web.Request) -> web.Response:
        """200 only if the receiver answers exactly 200; no URL -> Webhook_URL_not_set."""
        require_user(self.fake, request)
        fake = self.fake
        if not fake.webhook_url:
            raise plain("Webhook_URL_not_set")
        status = await self._post_sample(fake.webhook_url)
        fake.webhook_log.append(("LivechatSession", status))
        if status != 200:
            raise plain("error-invalid-webhook-response")
        return ok()

    async def _post_sample(self, url: str) -> int | None:
        headers = {"Accept": "application/json"}
        if self.fake.webhook_token:
            headers["X-RocketChat-Livechat-Token"] = self.fake.webhook_token
        timeout = aiohttp.ClientTimeout(total=self.fake.webhook_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json=SAMPLE, headers=headers) as response,
            ):
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None
