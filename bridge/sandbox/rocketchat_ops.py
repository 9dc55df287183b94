"""Livechat operations shared by the REST routes and the agent-side controls.

Contract rocketchat-omnichannel.md §2.1 (visitor matching, incl. the phone-match token
swap), §2.3 (room creation), §2.8 / §3.3 (closing), §6 (assignment system messages).
"""

from __future__ import annotations

from typing import Any

from bridge.sandbox.rocketchat_errors import RCError, meteor, plain
from bridge.sandbox.rocketchat_state import RCStore, meteor_id


def visitor_user(visitor: dict[str, Any]) -> dict[str, Any]:
    """The visitor as a message author (`u`)."""
    return {"_id": visitor["_id"], "username": visitor["username"], "name": visitor.get("name")}


def _find_match(store: RCStore, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """registerGuest's order: token, then phone, then e-mail (§2.1)."""
    token = data["token"]
    if token in store.visitors:
        return store.visitors[token], "token"
    phone, email = data.get("phone"), (data.get("email") or "").lower()
    for visitor in store.visitors.values():
        if phone and any(p.get("phoneNumber") == phone for p in visitor.get("phone", [])):
            return visitor, "phone"
    for visitor in store.visitors.values():
        if email and any(e.get("address") == email for e in visitor.get("visitorEmails", [])):
            return visitor, "email"
    return None, "new"


def register_visitor(store: RCStore, data: dict[str, Any], *, major: int) -> dict[str, Any]:
    """Create or update a visitor; a phone match keeps the OLD token (§2.1, §10.6)."""
    department = _resolve_department(store, data.get("department"), major)
    visitor, matched_by = _find_match(store, data)
    now = store.now()
    if visitor is None:
        visitor = {"_id": meteor_id(), "token": data["token"],
                   "username": data.get("username") or store.next_guest_username(),
                   "status": "online", "ts": now, "contactId": meteor_id()}  # fmt: skip
    elif matched_by == "email":
        # The token is overwritten with the new one (inferred, §2.1).
        store.visitors.pop(visitor["token"], None)
        visitor["token"] = data["token"]
    _apply_fields(store, visitor, data, department)
    visitor["_updatedAt"] = now
    store.visitors[visitor["token"]] = visitor
    _refresh_open_rooms(store, visitor)
    return visitor


def _resolve_department(store: RCStore, ref: Any, major: int) -> dict[str, Any] | None:
    if not ref:
        return None
    department = store.department(str(ref))
    if department is None:
        # [8.x] omni-core throws a plain Error; [6.14]/[7.x] a Meteor.Error (§2.1, §10.10).
        if major >= 8:
            raise plain("error-invalid-department")
        raise meteor("error-invalid-department", "The provided department is invalid")
    return department


def _apply_fields(
    store: RCStore,
    visitor: dict[str, Any],
    data: dict[str, Any],
    department: dict[str, Any] | None,
) -> None:
    if data.get("name"):
        visitor["name"] = data["name"]
    if data.get("phone"):
        visitor["phone"] = [{"phoneNumber": data["phone"]}]
    if data.get("email"):
        visitor["visitorEmails"] = [{"address": str(data["email"]).lower()}]
    if department is not None:
        visitor["department"] = department["_id"]
    for field in data.get("customFields") or []:
        key, value = field["key"], field["value"]
        if store.custom_fields.get(key) != "visitor":
            continue  # unknown or room-scoped keys are silently ignored (§2.1)
        livechat_data = visitor.setdefault("livechatData", {})
        if field.get("overwrite", True) or key not in livechat_data:
            livechat_data[key] = value


def _refresh_open_rooms(store: RCStore, visitor: dict[str, Any]) -> None:
    room = store.open_room_of(visitor["token"])
    if room is not None:
        room["fname"] = visitor.get("name") or visitor["username"]


def create_room(
    store: RCStore,
    visitor: dict[str, Any],
    *,
    department_id: str | None,
    agent: dict[str, Any] | None,
    source_type: str,
) -> dict[str, Any]:
    """Insert room + `livechat-started` message, then assign the agent if any (§2.3, §6)."""
    now = store.now()
    room: dict[str, Any] = {
        "_id": meteor_id(), "msgs": 0, "usersCount": 1, "lm": now,
        "fname": visitor.get("name") or visitor["username"], "t": "l", "ts": now,
        "v": {"_id": visitor["_id"], "username": visitor["username"],
              "token": visitor["token"], "status": "online",
              "contactId": visitor["contactId"]},
        "cl": False, "open": True, "waitingResponse": True, "source": {"type": source_type},
        "queuedAt": now, "priorityWeight": 99999, "estimatedWaitingTimeQueue": 9999999,
        "contactId": visitor["contactId"], "_updatedAt": now,
    }  # fmt: skip
    if department_id:
        room["departmentId"] = department_id
    store.rooms[room["_id"]] = room
    store.system_message(room["_id"], "livechat-started", visitor_user(visitor))
    if agent is not None:
        serve_room(store, room, agent)
    return room


def serve_room(store: RCStore, room: dict[str, Any], agent: dict[str, Any]) -> None:
    """Assign an agent: `servedBy`, then the `command`/`uj` system messages (§6)."""
    room["servedBy"] = {"_id": agent["_id"], "username": agent["username"], "ts": store.now()}
    room["usersCount"] = 2
    store.system_message(room["_id"], "command", agent, "connected")
    store.system_message(room["_id"], "uj", agent, agent["username"])


def close_room(
    store: RCStore,
    room: dict[str, Any],
    *,
    closer: str,
    by: dict[str, Any],
    comment: str,
) -> None:
    """Close: `open:false`, closedAt/closedBy/closer and the `livechat-close` message."""
    if not room["open"]:
        raise plain("room-closed")
    now = store.now()
    room.update({"open": False, "closedAt": now, "closer": closer,
                 "closedBy": {"_id": by["_id"], "username": by["username"]}})  # fmt: skip
    room.pop("waitingResponse", None)
    store.system_message(room["_id"], "livechat-close", by, comment)


def require_visitor(store: RCStore, token: str) -> dict[str, Any]:
    visitor = store.visitors.get(token)
    if visitor is None:
        raise plain("invalid-token")
    return visitor


def require_visitor_room(store: RCStore, token: str, rid: str) -> dict[str, Any]:
    """The checks of livechat/message & co, in the server's order (§2.4)."""
    require_visitor(store, token)
    room = store.visitor_room(rid, token)
    if room is None:
        raise plain("invalid-room")
    return room


def ensure_open(room: dict[str, Any]) -> None:
    if not room["open"]:
        raise RCError(400, {"success": False, "error": "room-closed"})
