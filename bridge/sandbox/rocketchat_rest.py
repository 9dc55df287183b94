"""Visitor-side REST of the Rocket.Chat fake (contract rocketchat-omnichannel.md §2).

Anonymous routes the bridge calls per WhatsApp user. Validation style, error texts and
check order follow the server code quoted in the contract (§2.1-§2.9).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridge.sandbox.rocketchat_config import build_config
from bridge.sandbox.rocketchat_errors import invalid_params, meteor, plain
from bridge.sandbox.rocketchat_http import ok, read_json
from bridge.sandbox.rocketchat_ops import (
    close_room,
    create_room,
    ensure_open,
    register_visitor,
    require_visitor,
    require_visitor_room,
    visitor_user,
)
from bridge.sandbox.rocketchat_state import parse_iso
from bridge.sandbox.rocketchat_validate import ajv_strict, match_keys, strings_only
from bridge.sandbox.rocketchat_webhooks import transcript

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

V1 = "/api/v1/livechat"
VISITOR_OPTIONAL: dict[str, type] = {
    "name": str, "email": str, "department": str, "phone": str, "username": str,
    "customFields": list, "id": str, "connectionData": dict,
}  # fmt: skip
CUSTOM_FIELD: dict[str, type] = {"key": str, "value": str, "overwrite": bool}
# Translated "Closed_by_visitor" (server language English).
CLOSED_BY_VISITOR = "Closed by visitor"


class VisitorRoutes:
    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake
        self.store = fake.store

    def register(self, app: web.Application) -> None:
        app.router.add_post(f"{V1}/visitor", self.register_visitor)
        app.router.add_get(f"{V1}/visitor/{{token}}", self.get_visitor)
        app.router.add_delete(f"{V1}/visitor/{{token}}", self.delete_visitor)
        app.router.add_get(f"{V1}/room", self.room)
        app.router.add_post(f"{V1}/message", self.send_message)
        app.router.add_get(f"{V1}/message/{{_id}}", self.get_message)
        app.router.add_get(f"{V1}/messages.history/{{rid}}", self.history)
        app.router.add_get(f"{V1}/config", self.config)
        app.router.add_post(f"{V1}/room.close", self.visitor_close)

    async def register_visitor(self, request: web.Request) -> web.Response:
        """§2.1: Meteor check; empty token; department; phone-match token swap."""
        body = match_keys(await read_json(request), "", required={"visitor": dict},
                          optional={}, exact=True)  # fmt: skip
        data = match_keys(body["visitor"], "visitor", required={"token": str},
                          optional=VISITOR_OPTIONAL, exact=False)  # fmt: skip
        for index, field in enumerate(data.get("customFields") or []):
            match_keys(field, f"visitor.customFields[{index}]", required=CUSTOM_FIELD,
                       optional={}, exact=False)  # fmt: skip
        if not data["token"].strip():
            raise meteor("error-invalid-token", "Token cannot be empty")
        visitor = register_visitor(self.store, data, major=self.fake.major)
        return ok({"visitor": visitor})

    async def get_visitor(self, request: web.Request) -> web.Response:
        visitor = self.store.visitors.get(request.match_info["token"])
        if visitor is None:
            raise meteor("invalid-token")  # test-asserted "[invalid-token]" (§2.2)
        return ok({"visitor": visitor})

    async def delete_visitor(self, request: web.Request) -> web.Response:
        """§2.2: refused while the visitor has open rooms, unless the "collect and store
        HTTP header informations" setting is on; removes rooms and messages with it."""
        token = request.match_info["token"]
        if token not in self.store.visitors:
            raise meteor("invalid-token")
        if self.store.open_room_of(token) is not None and not self.fake.gdpr_remove_open:
            raise meteor("visitor-has-open-rooms", "Cannot remove visitors with opened rooms")
        visitor = self.store.remove_visitor(token)
        return ok({"visitor": {"_id": visitor["_id"], "ts": self.store.now()}})

    async def room(self, request: web.Request) -> web.Response:
        """§2.3: get the visitor's open room or create one."""
        query = match_keys(dict(request.query), "", required={"token": str},
                           optional={"rid": str, "agentId": str}, exact=True)  # fmt: skip
        token, rid = query["token"], query.get("rid")
        visitor = require_visitor(self.store, token)
        if rid:
            room = self.store.visitor_room(rid, token)
            if room is None or not room["open"]:
                raise plain("invalid-room")
            return ok({"room": room, "newRoom": False})
        room = self.store.open_room_of(token)
        if room is not None:
            return ok({"room": room, "newRoom": False})
        room = self._create_room(request, visitor, query.get("agentId"))
        return ok({"room": room, "newRoom": True})

    def _create_room(
        self, request: web.Request, visitor: dict[str, Any], agent_id: str | None
    ) -> dict[str, Any]:
        fake = self.fake
        if not fake.livechat_enabled:
            raise meteor("error-omnichannel-is-disabled")
        department_id = visitor.get("department")
        online = fake.agents_online and not self._department_offline(department_id)
        if not online and not fake.accept_with_no_agents:
            raise meteor("no-agent-online", "Sorry, no online agents")
        if department_id is None and online and self.store.departments:
            department_id = self.store.departments[0]["_id"]  # first enabled, online
        agent = self._pick_agent(agent_id) if online else None
        cookies = request.cookies
        widget = cookies.get("rc_room_type") == "l" and cookies.get("rc_is_widget") == "t"
        room = create_room(self.store, visitor, department_id=department_id, agent=agent,
                           source_type="widget" if widget else "api")  # fmt: skip
        fake.emit("LivechatSessionStart", "LivechatSessionStart", room, [])
        if agent is not None:
            fake.emit("LivechatSessionTaken", "LivechatSessionTaken", room, [])
        else:
            fake.emit("LivechatSessionQueued", "LivechatSessionQueued", room, [])
        return room

    def _department_offline(self, department_id: str | None) -> bool:
        department = self.store.department(department_id) if department_id else None
        if department is None:
            return False
        return bool({department["_id"], department["name"]} & self.fake.offline_departments)

    def _pick_agent(self, agent_id: str | None) -> dict[str, Any]:
        """A requested agent if known (unknown ids are ignored, §2.3), else the default."""
        for agent in self.store.agents.values():
            if agent_id and agent["_id"] == agent_id:
                return agent
        return self.store.agent(self.fake.default_agent, self.fake.default_agent_name)

    async def send_message(self, request: web.Request) -> web.Response:
        """§2.4: strict ajv body; invalid-token, invalid-room, room-closed; optional _id."""
        body = ajv_strict(
            await read_json(request),
            required=("token", "rid", "msg"),
            optional=("_id", "agent"),
            types={"token": str, "rid": str, "msg": str, "_id": str, "agent": dict},
        )
        if "agent" in body:
            ajv_strict(body["agent"], required=("agentId", "username"))
        room = require_visitor_room(self.store, body["token"], body["rid"])
        ensure_open(room)
        limit = self.fake.message_character_limit
        if limit is not None and len(body["msg"]) > limit:
            raise plain("message-length-exceeds-character-limit")
        visitor = self.store.visitors[body["token"]]
        extra: dict[str, Any] = {"token": visitor["token"]}
        if visitor.get("name"):
            extra["alias"] = visitor["name"]  # the visitor's name is copied into alias
        if "_id" in body:
            extra["_id"] = body["_id"]
            stored = self.store.messages_by_id.get(body["_id"])
            if stored is not None:
                return self._already_there(stored)
        message = self.store.message(room["_id"], visitor_user(visitor), body["msg"], **extra)
        self.store.add_message(message)
        self.fake.emit("Message visitor", "Message", room, [message])
        return ok({"message": self.fake.present(message)})

    def _already_there(self, stored: dict[str, Any]) -> web.Response:
        """A re-used `_id` stores nothing (`messageAlreadyExists`, §2.4). 8.x answers 200
        with the stored message; 7.x answered 400 "Cannot convert undefined or null to
        object" (both read in the source, not run against a server)."""
        if self.fake.major >= 8:
            return ok({"message": self.fake.present(stored)})
        raise plain("Cannot convert undefined or null to object")

    async def get_message(self, request: web.Request) -> web.Response:
        strings_only(request.query, required=("token", "rid"), optional=())
        room = require_visitor_room(self.store, request.query["token"], request.query["rid"])
        message = self.store.messages_by_id.get(request.match_info["_id"])
        if message is None or message["rid"] != room["_id"]:
            raise plain("invalid-message")
        return ok({"message": self.fake.present(message)})

    async def history(self, request: web.Request) -> web.Response:
        """§2.6: newest first, system messages included, works on closed rooms."""
        token = request.query.get("token")
        if not token:
            reason = 'The required "token" query param is missing.'
            raise meteor("error-token-param-not-provided", reason)
        room = require_visitor_room(self.store, token, request.match_info["rid"])
        limit, offset, end = _paging(request)
        messages = list(reversed(self.store.room_messages.get(room["_id"], [])))
        if end is not None:
            messages = [m for m in messages if parse_iso(m["ts"]) < end]
        page = messages[offset : offset + limit]
        return ok({"messages": [self.fake.present(m) for m in page]})

    async def config(self, request: web.Request) -> web.Response:
        strings_only(request.query, required=(), optional=("token", "department", "businessUnit"))
        return ok({"config": build_config(self.fake, request.query.get("token"),
                                          request.query.get("department"))})  # fmt: skip

    async def visitor_close(self, request: web.Request) -> web.Response:
        """§2.8: the visitor closes; `closer: "visitor"`, one LivechatSession webhook."""
        body = ajv_strict(await read_json(request), required=("rid", "token"),
                          types={"rid": str, "token": str})  # fmt: skip
        if not self.fake.visitors_can_close:
            raise plain("error-not-allowed-to-close-conversation")
        room = require_visitor_room(self.store, body["token"], body["rid"])
        visitor = self.store.visitors[body["token"]]
        close_room(self.store, room, closer="visitor", by=visitor_user(visitor),
                   comment=CLOSED_BY_VISITOR)  # fmt: skip
        messages = transcript(self.store, room["_id"])
        self.fake.emit("LivechatSession", "LivechatSession", room, messages)
        return ok({"rid": room["_id"], "comment": CLOSED_BY_VISITOR})


def _paging(request: web.Request) -> tuple[int, int, datetime | None]:
    try:
        limit = int(request.query.get("limit", "20"))
        offset = int(request.query.get("offset", "0"))
        end = parse_iso(request.query["end"]) if request.query.get("end") else None
    except ValueError:
        raise invalid_params("must be integer") from None
    return limit, offset, end
