"""The Omnichannel webhook ("CRM integration"), contract rocketchat-omnichannel.md §4.

Payloads follow §4.3/§4.4 (built like ``sendToCRM``); delivery follows 8.x (§4.2):
JSON POST with ``X-RocketChat-Livechat-Token`` (omitted when empty), success is HTTP 200
exactly, retries only on network error/timeout, 5xx and 429, 5 attempts in total with a
fixed delay (the server uses 4 x timeout = 20 s; configurable here), other codes dropped.
The 200 response text becomes the room's `crmData`, echoed in later payloads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from bridge.sandbox.rocketchat_state import RCStore
from bridge.sandbox.tasks import BackgroundTasks

ATTEMPTS = 5
# Extra top-level keys per event (getAdditionalFieldsByType in sendToCRM).
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "LivechatSessionStart": ("departmentId",),
    "LivechatSessionQueued": ("departmentId",),
    "LivechatSessionTaken": ("departmentId", "servedBy"),
    "LivechatSessionForwarded": ("departmentId", "servedBy", "oldDepartmentId", "oldServedBy"),
    "LivechatSession": ("departmentId", "servedBy", "closedAt", "closedBy", "closer"),
}
# omnichannel/integrations keys -> event switch names used in FakeRocketChat.webhook_events.
INTEGRATION_EVENTS: dict[str, str] = {
    "LivechatWebhookOnStart": "LivechatSessionStart",
    "LivechatWebhookOnClose": "LivechatSession",
    "LivechatWebhookOnChatTaken": "LivechatSessionTaken",
    "LivechatWebhookOnChatQueued": "LivechatSessionQueued",
    "LivechatWebhookOnForward": "LivechatSessionForwarded",
    "LivechatWebhookOnOfflineMsg": "LivechatOfflineMessage",
    "LivechatWebhookOnVisitorMessage": "Message visitor",
    "LivechatWebhookOnAgentMessage": "Message agent",
}

Presenter = Callable[[dict[str, Any]], dict[str, Any]]


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON.stringify drops undefined keys: absent values are omitted, not null."""
    return {key: value for key, value in obj.items() if value is not None}


def webhook_message(
    message: dict[str, Any], visitor_username: str, shown: dict[str, Any]
) -> dict[str, Any]:
    """One `messages[]` entry (§4.3): `agentId` iff the author is not the visitor."""
    entry = _compact({
        "_id": message["_id"], "username": message["u"]["username"],
        "msg": message.get("msg") or None,  # empty text and no blocks -> key absent
        "ts": message["ts"], "rid": message["rid"], "u": message["u"],
        "_updatedAt": message.get("_updatedAt"), "editedAt": message.get("editedAt"),
    })  # fmt: skip
    if message["u"]["username"] != visitor_username:
        entry["agentId"] = message["u"]["_id"]
    if message.get("t") == "livechat-close":
        entry["closingMessage"] = True
    for key in ("file", "attachments", "fileUpload"):
        if key in shown:
            entry[key] = shown[key]
    if message.get("blocks"):
        # sendToCRM: an app's message with blocks and no text goes out as the blocks' JSON
        # in `msg` (contract §5), beside the blocks themselves.
        entry["blocks"] = message["blocks"]
        entry.setdefault("msg", json.dumps(message["blocks"], separators=(",", ":")))
    return entry


def transcript(store: RCStore, rid: str) -> list[dict[str, Any]]:
    """Messages a session event includes: system messages skipped, except the close."""
    return [m for m in store.room_messages.get(rid, []) if m.get("t") in (None, "livechat-close")]


def build_payload(
    store: RCStore,
    room: dict[str, Any],
    event: str,
    messages: list[dict[str, Any]],
    present: Presenter,
) -> dict[str, Any]:
    visitor = store.visitors.get(room["v"]["token"], room["v"])
    payload = _compact({
        "type": event, "_id": room["_id"], "label": room.get("fname"),
        "topic": room.get("topic"), "createdAt": room["ts"], "lastMessageAt": room.get("lm"),
        "tags": room.get("tags"), "customFields": room.get("livechatData"),
        "visitor": _visitor_part(visitor),
    })  # fmt: skip
    served = room.get("servedBy")
    if served is not None:
        payload["agent"] = _agent_part(store, served["username"])
    if room.get("crmData"):
        payload["crmData"] = room["crmData"]
    username = visitor["username"]
    payload["messages"] = [webhook_message(m, username, present(m)) for m in messages]
    for key in EXTRA_KEYS.get(event, ()):
        if room.get(key) is not None:
            payload[key] = room[key]
    return payload


def _visitor_part(visitor: dict[str, Any]) -> dict[str, Any]:
    return _compact({
        "_id": visitor["_id"], "token": visitor["token"], "name": visitor.get("name"),
        "username": visitor["username"], "department": visitor.get("department"),
        "customFields": visitor.get("livechatData"),
        "email": visitor.get("visitorEmails"), "phone": visitor.get("phone"),
    })  # fmt: skip


def _agent_part(store: RCStore, username: str) -> dict[str, Any]:
    agent = store.agent(username)
    emails = agent.get("emails") or [{}]
    return _compact({"_id": agent["_id"], "username": username, "name": agent.get("name"),
                     "email": emails[0].get("address"), "customFields": {}})  # fmt: skip


class RCWebhookSender:
    """Fire-and-forget delivery with the 8.x retry rules; every attempt is logged."""

    def __init__(self, log: list[tuple[str, int | None]], tasks: BackgroundTasks) -> None:
        self._log = log
        self._tasks = tasks
        # First attempts leave in event order (deterministic tests); retries are
        # independent timers, so a retried event may arrive after later ones (§4.2).
        self._order = asyncio.Lock()
        self.session: aiohttp.ClientSession | None = None

    def send(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        target: tuple[str, str],
        limits: tuple[float, float],
        on_success: Callable[[str], None],
    ) -> None:
        """`target` = (url, secret token), `limits` = (timeout, retry delay) in seconds."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._tasks.spawn(self._deliver(event, body, target, limits, on_success))

    async def _deliver(
        self,
        event: str,
        body: bytes,
        target: tuple[str, str],
        limits: tuple[float, float],
        on_success: Callable[[str], None],
    ) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            if attempt == 1:
                async with self._order:
                    status, text = await self._attempt(body, target, limits[0])
            else:
                status, text = await self._attempt(body, target, limits[0])
            self._log.append((event, status))
            if status == 200:
                on_success(text)
                return
            if status is not None and status < 500 and status != 429:
                return  # 8.x: other non-200 answers are logged and dropped
            if attempt < ATTEMPTS:
                await asyncio.sleep(limits[1])

    async def _attempt(
        self, body: bytes, target: tuple[str, str], time_limit: float
    ) -> tuple[int | None, str]:
        url, secret = target
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-RocketChat-Livechat-Token"] = secret
        if self.session is None:
            raise RuntimeError("the fake is not started")
        try:
            async with self.session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=time_limit)
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return None, ""
