"""Livechat REST as the core's `RocketChat` port; Rocket.Chat errors translated once, here."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any, Self
from urllib.parse import unquote

import aiohttp
import structlog
from yarl import URL

from bridge.core.model import RoomId, VisitorToken
from bridge.core.ports import (
    DeliveryError,
    Download,
    ForeignUrl,
    NoAgentOnline,
    Permanent,
    RateLimited,
    Retryable,
    RoomIsClosed,
    RoomLabels,
    RoomMessage,
    TooLong,
    UnknownDepartment,
    VisitorIsGone,
)
from bridge.filenames import safe_filename
from bridge.health import Reachability
from bridge.httpjson import json_body
from bridge.rocketchat import wire
from bridge.settings import Settings
from bridge.transfer import receive, transfer_timeout

# Our flow priorities as EE's LivechatPriorityWeight (1 Highest ... 5 Lowest).
PRIORITY_WEIGHTS = {"urgent": 1, "high": 2, "low": 4}

log = structlog.get_logger("bridge.rocketchat.client")


def translate(status: int, body: Any, headers: Any) -> DeliveryError:
    """One non-success answer (contract §1.3) as a port error."""
    body = body if isinstance(body, dict) else {}
    error = str(body.get("errorType") or body.get("error") or body.get("reason") or "")
    if status == 429:
        return RateLimited("rate limited", _reset_in(headers.get("X-RateLimit-Reset")))
    if status >= 500:
        return Retryable(f"HTTP {status}")
    if "no-agent-online" in error:
        return NoAgentOnline(error)
    if "room-closed" in error or "invalid-room" in error:
        return RoomIsClosed(error)
    if "invalid-token" in error:
        return VisitorIsGone(error)
    if "invalid-department" in error:
        return UnknownDepartment(error)
    if "message-length-exceeds-character-limit" in error:
        return TooLong(error)
    return Permanent(f"HTTP {status}: {error}"[:300])


def _reset_in(header: str | None) -> float | None:
    """`X-RateLimit-Reset` is an epoch in milliseconds (§1.4)."""
    try:
        return max(0.0, float(header) / 1000 - time.time()) if header else None
    except ValueError:
        return None


class RocketChatClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        user_id: str,
        auth_token: str,
        health: Reachability,
    ) -> None:
        self._http = session
        self._api = f"{base}/api/v1"
        self._base = base
        self._user = {"X-User-Id": user_id, "X-Auth-Token": auth_token} if user_id else {}
        self.health = health
        self._priorities: dict[int, str] | None = None  # sortItem -> priority id (EE)

    @classmethod
    def of(cls, http: aiohttp.ClientSession, settings: Settings, health: Reachability) -> Self:
        """The client the settings describe (ROCKETCHAT_URL and the service account)."""
        return cls(
            http,
            settings.rocketchat_base,
            settings.rocketchat_user_id,
            settings.rocketchat_auth_token.get_secret_value(),
            health,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        url = path if path.startswith("http") else f"{self._api}/{path}"
        try:
            async with self._http.request(method, url, **kwargs) as resp:
                body = json_body(await resp.read())
                if resp.status >= 500:
                    self.health.failed(f"HTTP {resp.status}")
                elif resp.status == 401 and "X-Auth-Token" in (kwargs.get("headers") or {}):
                    # The service account's token refused (§1.1): not an outage.
                    self.health.rejected("HTTP 401 (service account token refused?)")
                elif resp.status == 200 and "X-Auth-Token" in (kwargs.get("headers") or {}):
                    self.health.accepted()
                else:
                    self.health.ok()
                if resp.status != 200:
                    raise translate(resp.status, body, resp.headers)
                if not isinstance(body, dict):
                    # Every REST route answers a JSON object (§1.2): a 200 with an HTML
                    # page is a proxy or a login wall in the way, not an answer.
                    raise Retryable(f"HTTP {resp.status}: not a JSON object")
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.health.failed(type(exc).__name__)
            raise Retryable(f"network: {type(exc).__name__}") from exc

    async def register_visitor(
        self, token: VisitorToken, name: str, phone: str, department: str, fields: dict[str, str]
    ) -> VisitorToken:
        visitor: dict[str, Any] = {"token": token, "name": name}
        if phone:  # none: a visitor Rocket.Chat must not match to another by phone (§2.1)
            visitor["phone"] = phone
        if department:
            visitor["department"] = department
        if fields:
            visitor["customFields"] = [
                {"key": k, "value": v, "overwrite": True} for k, v in fields.items()
            ]
        _, body = await self._call("POST", "livechat/visitor", json={"visitor": visitor})
        return VisitorToken(str(body["visitor"]["token"]))

    async def agents_online(self, department: str) -> bool:
        """Whether anyone can take a room in `department` (name or id), per livechat/config.

        The contract (§2.9) documents the `department` query as resolving one department but
        not whether a name is accepted there (registration accepts both). So the id is looked
        up in the anonymous department list first; a department missing from that list (it
        lists only enabled departments with agents) is reported as the server-wide answer,
        and Rocket.Chat itself decides when the room is asked for.
        """
        _, body = await self._call("GET", "livechat/config")
        config = (body or {}).get("config") or {}
        if not config.get("online"):
            return False
        found = next(
            (
                d
                for d in config.get("departments") or []
                if department in (d.get("_id"), d.get("name"))
            ),
            None,
        )
        if not department or found is None:
            return True
        _, body = await self._call(
            "GET", "livechat/config", params={"department": str(found["_id"])}
        )
        return bool(((body or {}).get("config") or {}).get("online"))

    async def open_room(self, token: VisitorToken) -> RoomId:
        _, body = await self._call("GET", "livechat/room", params={"token": token})
        return RoomId(str(body["room"]["_id"]))

    async def send_message(
        self, token: VisitorToken, room_id: RoomId, text: str, message_id: str
    ) -> str:
        """Sent once even when retried: the `_id` is ours. A re-send of an `_id` Rocket.Chat
        has stores nothing and is answered 200 with the stored message (8.x) or 400 (7.x,
        "Cannot convert undefined or null to object"; §2.4). Either way it is taken as
        delivered only once the room is seen to hold that `_id` with our words."""
        payload = {"token": token, "rid": room_id, "msg": text, "_id": message_id}
        try:
            _, body = await self._call("POST", "livechat/message", json=payload)
        except Permanent as exc:
            if await self._holds(token, room_id, message_id, text):
                return message_id
            raise exc from None
        stored = body.get("message")
        mine = isinstance(stored, dict) and stored.get("_id") == message_id
        if mine and stored.get("msg") not in (None, text):
            # Another message already has this id: ours was never stored.
            raise Permanent(f"message id {message_id} is another message's")
        return message_id

    async def _holds(
        self, token: VisitorToken, room_id: RoomId, message_id: str, text: str
    ) -> bool:
        params = {"token": token, "rid": room_id}
        try:
            _, body = await self._call("GET", f"livechat/message/{message_id}", params=params)
        except Permanent:
            return False
        stored = body.get("message")
        return isinstance(stored, dict) and stored.get("msg") == text

    async def upload(
        self, token: VisitorToken, room_id: RoomId, file: Download, description: str
    ) -> str:
        # Rocket.Chat's busboy reads `filename="..."` as UTF-8 (defParamCharset utf8) and
        # keeps %XX literally: aiohttp's default percent-encoding would rename the file.
        form = aiohttp.FormData(quote_fields=False)
        form.add_field(
            "file",
            file.body(),
            filename=safe_filename(file.filename, _name(file.mime)),
            content_type=file.mime,
        )
        if description:
            form.add_field("description", description)
        headers = {"x-visitor-token": token}
        try:
            _, body = await self._call(
                "POST",
                f"livechat/upload/{room_id}",
                data=form,
                headers=headers,
                timeout=transfer_timeout(file.size),
            )
        except Permanent as exc:
            if exc.reason.startswith("HTTP 403"):  # room not open for this visitor (§2.7)
                raise RoomIsClosed(exc.reason) from exc
            raise
        return str(body.get("_id", ""))

    async def history(
        self, token: VisitorToken, room_id: RoomId, limit: int
    ) -> Sequence[RoomMessage]:
        params = {"token": token, "limit": str(limit)}
        _, body = await self._call("GET", f"livechat/messages.history/{room_id}", params=params)
        return _room_messages(body.get("messages"))

    async def download(
        self, url: str, token: VisitorToken, room_id: RoomId, limit: int
    ) -> Download:
        absolute = self._own(url)
        # The public path carries a JWT valid for an hour; the visitor's own credentials
        # work even after that, and after the room closed (§5).
        params = {"rc_token": token, "rc_rid": room_id, "rc_room_type": "l"}
        try:
            async with self._http.get(
                absolute, params=params, timeout=transfer_timeout(limit)
            ) as resp:
                if resp.status != 200:
                    raise translate(resp.status, None, resp.headers)
                return await receive(resp, limit, resp.content_type, _filename(absolute))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retryable(f"network: {type(exc).__name__}") from exc

    def _own(self, url: str) -> str:
        """`url` as an absolute URL on this Rocket.Chat, or ForeignUrl. The request carries
        the visitor's token, a key to the citizen's whole room history, and its bytes go to
        the citizen: only the configured server's scheme, host and port may serve it."""
        if url.startswith("/") and not url.startswith("//"):
            url = f"{self._base}{url}"
        try:
            target, base = URL(url), URL(self._base)
        except ValueError as exc:
            raise ForeignUrl(f"not a URL: {type(exc).__name__}") from exc
        same = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
        if not same or target.user is not None or target.password is not None:
            log.warning("rocketchat.foreign_file_url", host=target.host)
            raise ForeignUrl(f"file link outside {base.origin()}: refused")
        return str(target)

    async def label_room(self, room_id: RoomId, token: VisitorToken, labels: RoomLabels) -> None:
        if not self._user:
            log.info("rocketchat.label_skipped", reason="no service account")
            return
        # room.saveInfo requires guestData._id (contract §3.3): the visitor's own id,
        # read back by token since livechat/room answers only the room.
        _, body = await self._call("GET", f"livechat/visitor/{token}")
        visitor_id = str(((body or {}).get("visitor") or {}).get("_id", ""))
        room: dict[str, Any] = {
            "_id": room_id,
            "topic": labels.topic,
            "tags": list(labels.tags),
            "livechatData": labels.fields,
        }
        priority_id = await self._priority_id(labels.priority) if labels.priority else None
        if priority_id:
            room["priorityId"] = priority_id
        await self._call(
            "POST",
            "livechat/room.saveInfo",
            headers=self._user,
            json={"roomData": room, "guestData": {"_id": visitor_id}},
        )

    async def _priority_id(self, priority: str) -> str | None:
        """The Enterprise priority matching ours, or None on Community Edition (where the
        route does not exist) and on any error: the topic already shows the urgency."""
        weight = PRIORITY_WEIGHTS.get(priority)
        if weight is None:
            return None
        if self._priorities is None:
            try:
                _, body = await self._call("GET", "livechat/priorities", headers=self._user)
            except Permanent as exc:  # Community Edition: the route does not exist
                log.info("rocketchat.no_priorities", reason=exc.reason)
                self._priorities = {}
                return None
            except DeliveryError as exc:  # try again with the next room
                log.info("rocketchat.priorities_unavailable", reason=exc.reason)
                return None
            self._priorities = {
                int(p.get("sortItem", 0)): str(p["_id"])
                for p in (body or {}).get("priorities") or []
                if "_id" in p
            }
        return self._priorities.get(weight)

    async def forget_visitor(self, token: str, room_id: str | None) -> int:
        """Remove a visitor with their rooms, messages and files (contract §2.2): 1, or 0
        when Rocket.Chat no longer knows them. An open room is closed first, as the
        visitor (§2.8): a visitor with open rooms cannot be removed."""
        if room_id:
            with contextlib.suppress(RoomIsClosed, VisitorIsGone):
                await self._call(
                    "POST", "livechat/room.close", json={"rid": room_id, "token": token}
                )
        try:
            await self._call("DELETE", f"livechat/visitor/{token}")
        except VisitorIsGone:
            return 0
        return 1

    async def probe(self) -> str:
        """The server's version from `/api/info` (no /v1; contract §3.7)."""
        _, body = await self._call("GET", f"{self._base}/api/info")
        version = str((body or {}).get("version", ""))
        if version.split(".", maxsplit=1)[0] not in ("7", "8"):
            log.warning("rocketchat.untested_version", version=version)
        if self._user:
            # The service account's credentials, on a route it needs anyway (§3.1): a
            # 401 here marks them refused for /readyz.
            try:
                await self._call(
                    "GET", "livechat/department", headers=self._user, params={"count": "1"}
                )
            except Permanent as exc:
                return f"Rocket.Chat {version}; service account: {exc.reason}"
        return f"Rocket.Chat {version}"


def _room_messages(raw: Any) -> list[RoomMessage]:
    """Oldest first; a message that does not fit the model is skipped and logged."""
    found = []
    for item in reversed(raw if isinstance(raw, list) else []):
        m = wire.validate(item) if isinstance(item, dict) else wire.Invalid("not an object", b"")
        if isinstance(m, wire.Invalid):
            log.warning("rocketchat.history_message_skipped", reason=m.reason)
            continue
        found.append(_room_message(m))
    return found


def _room_message(m: wire.Message) -> RoomMessage:
    return RoomMessage(
        id=m.id,
        text=wire.text_of(m),
        from_visitor=bool(m.token),
        system_type=m.t,
        agent_name=m.u.name or m.u.username or "",
        edited_at=wire.edited_at(m),
        files=wire.files_of(m),
        sent_at=wire.sent_at(m),
    )


def _name(mime: str) -> str:
    return "arquivo." + (mime.rsplit("/", maxsplit=1)[-1].split(";", maxsplit=1)[0] or "bin")


def _filename(url: str) -> str | None:
    # The link ends in the URL-encoded name (`/file-upload/<id>/boleto%20de%20mar%C3%A7o.pdf`).
    tail = url.split("?", maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]
    return unquote(tail) or None
