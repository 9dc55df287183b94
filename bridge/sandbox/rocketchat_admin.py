"""Service-account REST of the Rocket.Chat fake (contract rocketchat-omnichannel.md §3).

Every route here needs ``X-User-Id`` + ``X-Auth-Token`` (401 bodies per §1.3); the
service account is assumed to hold the permissions the bridge needs (view-l-room,
close-others-livechat-room, save-others-livechat-room-info, view-livechat-manager).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridge.sandbox.rocketchat_errors import meteor, plain
from bridge.sandbox.rocketchat_http import ok, read_json, require_user
from bridge.sandbox.rocketchat_ops import close_room
from bridge.sandbox.rocketchat_validate import ajv_strict, match_keys
from bridge.sandbox.rocketchat_webhooks import transcript

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

V1 = "/api/v1"
CLOSE_BY_USER_TYPES: dict[str, type] = {
    "rid": str, "comment": str, "tags": list, "generateTranscriptPdf": bool,
    "transcriptEmail": dict, "forceClose": bool,
}  # fmt: skip
DEPARTMENT_REQUIRED: dict[str, type] = {
    "enabled": bool, "name": str, "showOnRegistration": bool, "email": str,
    "showOnOfflineForm": bool,
}  # fmt: skip


class AdminRoutes:
    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake
        self.store = fake.store

    def register(self, app: web.Application) -> None:
        app.router.add_get("/api/info", self.info)
        app.router.add_get(f"{V1}/livechat/department", self.departments)
        app.router.add_post(f"{V1}/livechat/department", self.create_department)
        app.router.add_post(f"{V1}/livechat/room.saveInfo", self.save_info)
        app.router.add_post(f"{V1}/livechat/room.closeByUser", self.close_by_user)
        app.router.add_get(f"{V1}/livechat/rooms", self.rooms)
        app.router.add_get(f"{V1}/livechat/priorities", self.priorities)

    async def priorities(self, request: web.Request) -> web.Response:
        """EE only (§3.7): the five default priorities, `sortItem` 1 (Highest) to 5 (Lowest),
        as seeded by ee/.../priorities.ts. On Community Edition the route does not exist;
        the body of that 404 is not in the contract, so it is a bare aiohttp 404 here."""
        if not self.fake.enterprise:
            raise web.HTTPNotFound()
        require_user(self.fake, request)
        items = self.store.priorities
        return ok({"priorities": items, "count": len(items), "offset": 0, "total": len(items)})

    async def info(self, request: web.Request) -> web.Response:
        """[8.x]: only major.minor unless the caller may view statistics (§3.7)."""
        major_minor = ".".join(self.fake.version.split(".")[:2])
        return ok({"version": major_minor,
                   "minimumClientVersions": {"desktop": "3.9.6", "mobile": "4.39.0"}})  # fmt: skip

    async def departments(self, request: web.Request) -> web.Response:
        require_user(self.fake, request)
        offset, count = _page(request, default_count=50)
        items = self.store.departments[offset : offset + count]
        total = len(self.store.departments)
        return ok({"departments": items, "count": len(items), "offset": offset, "total": total})

    async def create_department(self, request: web.Request) -> web.Response:
        """§3.2: Meteor checks, then the Community Edition limit of ONE department."""
        require_user(self.fake, request)
        body = match_keys(
            await read_json(request),
            "",
            required={"department": dict},
            optional={"agents": list, "departmentUnit": dict},
            exact=True,
        )
        data = match_keys(
            body["department"],
            "department",
            required=DEPARTMENT_REQUIRED,
            optional={"description": str},
            exact=False,
        )
        if not self.fake.enterprise and self.store.departments:
            raise meteor("error-max-departments-number-reached",
                         "Maximum number of departments reached")  # fmt: skip
        department = self.store.add_department(data["name"])
        department.update({key: data[key] for key in DEPARTMENT_REQUIRED if key != "name"})
        department["description"] = data.get("description", "")
        department["numAgents"] = 0  # agents are added in the UI
        return ok({"department": department, "agents": []})

    async def save_info(self, request: web.Request) -> web.Response:
        """§3.3: topic/tags/livechatData; only defined room-scope fields are kept
        (saveRoomInfo filters by LivechatCustomField scope 'room')."""
        require_user(self.fake, request)
        body = ajv_strict(await read_json(request), required=("roomData", "guestData"),
                          types={"roomData": dict, "guestData": dict})  # fmt: skip
        ajv_strict(body["roomData"], required=("_id",),
                   optional=("topic", "tags", "livechatData", "priorityId", "slaId"))  # fmt: skip
        ajv_strict(body["guestData"], required=("_id",),
                   optional=("name", "email", "phone", "livechatData"))  # fmt: skip
        room = self.store.rooms.get(str(body["roomData"]["_id"]))
        if room is None:
            raise plain("error-invalid-room")
        self._save_room(room, body["roomData"])
        self._save_guest(room, body["guestData"])
        if not room["open"]:
            # LivechatEdit has no switch: sent whenever a URL is set (§4.4).
            messages = transcript(self.store, room["_id"])
            self.fake.emit("LivechatEdit", "LivechatEdit", room, messages)
        return ok()

    def _save_room(self, room: dict[str, Any], data: dict[str, Any]) -> None:
        if "topic" in data:
            room["topic"] = data["topic"]
        if isinstance(data.get("tags"), list):
            room["tags"] = [str(tag) for tag in data["tags"]]
        if data.get("priorityId"):
            if not any(p["_id"] == data["priorityId"] for p in self.store.priorities):
                raise plain("error-invalid-priority")
            room["priorityId"] = data["priorityId"]
        fields = self._scoped(data.get("livechatData"), "room")
        if fields:
            room["livechatData"] = {**room.get("livechatData", {}), **fields}
        room["_updatedAt"] = self.store.now()

    def _save_guest(self, room: dict[str, Any], data: dict[str, Any]) -> None:
        visitor = self.store.visitors.get(room["v"]["token"])
        if visitor is None or visitor["_id"] != data["_id"]:
            return
        if data.get("name"):
            visitor["name"] = room["fname"] = data["name"]
        if data.get("email"):
            visitor["visitorEmails"] = [{"address": str(data["email"]).lower()}]
        if data.get("phone"):
            visitor["phone"] = [{"phoneNumber": data["phone"]}]
        fields = self._scoped(data.get("livechatData"), "visitor")
        if fields:
            visitor["livechatData"] = {**visitor.get("livechatData", {}), **fields}

    def _scoped(self, values: Any, scope: str) -> dict[str, str]:
        if not isinstance(values, dict):
            return {}
        return {
            key: str(value).strip()
            for key, value in values.items()
            if self.store.custom_fields.get(key) == scope
        }

    async def close_by_user(self, request: web.Request) -> web.Response:
        """§3.3: error-invalid-room, error-room-already-closed, error-comment-is-required."""
        require_user(self.fake, request)
        body = ajv_strict(
            await read_json(request),
            required=("rid",),
            optional=tuple(CLOSE_BY_USER_TYPES),
            types=CLOSE_BY_USER_TYPES,
        )
        room = self.store.rooms.get(body["rid"])
        if room is None:
            raise plain("error-invalid-room")
        if not room["open"]:
            raise plain("error-room-already-closed")
        comment = str(body.get("comment") or "")
        if self.fake.request_comment_on_close and not comment.strip():
            raise plain("error-comment-is-required")
        if body.get("tags"):
            room["tags"] = [str(tag) for tag in body["tags"]]
        bot = {"_id": self.fake.user_id, "username": self.fake.bot_username}
        close_room(self.store, room, closer="user", by=bot, comment=comment)
        messages = transcript(self.store, room["_id"])
        self.fake.emit("LivechatSession", "LivechatSession", room, messages)
        return ok()

    async def rooms(self, request: web.Request) -> web.Response:
        require_user(self.fake, request)
        rooms = sorted(self.store.rooms.values(), key=lambda r: r["ts"], reverse=True)
        if request.query.get("open") in ("true", "false"):
            wanted = request.query["open"] == "true"
            rooms = [r for r in rooms if r["open"] is wanted]
        if request.query.get("departmentId"):
            rooms = [r for r in rooms if r.get("departmentId") == request.query["departmentId"]]
        offset, count = _page(request, default_count=50)
        page = rooms[offset : offset + count]
        return ok({"rooms": page, "count": len(page), "offset": offset, "total": len(rooms)})


def _page(request: web.Request, *, default_count: int) -> tuple[int, int]:
    try:
        offset = int(request.query.get("offset", "0"))
        count = int(request.query.get("count", str(default_count)))
    except ValueError:
        offset, count = 0, default_count
    return offset, count
