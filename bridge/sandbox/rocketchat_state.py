"""In-memory data of the Rocket.Chat fake: visitors, rooms, messages, departments, files.

Document shapes follow contract rocketchat-omnichannel.md §2 (visitor §2.1, room §2.3,
message §2.4). Timestamps are ISO-8601 with milliseconds (JSON.stringify of a Date, §1.1),
strictly increasing so that "newest first" ordering is unambiguous.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.sandbox.rocketchat_errors import duplicate_key

_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"


def meteor_id() -> str:
    """Meteor's ``Random.id()``: 17 characters of an unambiguous alphabet."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class StoredFile:
    file_id: str
    rid: str
    name: str
    mime: str
    data: bytes


class RCStore:
    """All collections; operations that several routes share live here."""

    def __init__(self, departments: list[str]) -> None:
        self.visitors: dict[str, dict[str, Any]] = {}  # by token
        self.rooms: dict[str, dict[str, Any]] = {}
        self.room_messages: dict[str, list[dict[str, Any]]] = {}
        self.messages_by_id: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}  # by username
        self.custom_fields: dict[str, str] = {}  # field id -> scope ("visitor" | "room")
        self.files: dict[str, StoredFile] = {}
        self._guests = 0
        self._last_ms = 0
        self.departments: list[dict[str, Any]] = [self._department(n) for n in departments]
        # EE's seeded priorities (LivechatPriorityWeight: 1 Highest ... 5 Lowest).
        self.priorities: list[dict[str, Any]] = [
            {"_id": meteor_id(), "i18n": name, "sortItem": weight, "dirty": False}
            for weight, name in enumerate(("Highest", "High", "Medium", "Low", "Lowest"), 1)
        ]

    def now(self) -> str:
        ms = int(datetime.now(UTC).timestamp() * 1000)
        ms = max(ms, self._last_ms + 1)
        self._last_ms = ms
        stamp = datetime.fromtimestamp(ms / 1000, UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    def _department(self, name: str) -> dict[str, Any]:
        return {
            "_id": meteor_id(),
            "name": name,
            "enabled": True,
            "showOnRegistration": True,
            "showOnOfflineForm": True,
            "email": "",
            "description": "",
            "numAgents": 1,
            "_updatedAt": self.now(),
        }

    def add_department(self, name: str) -> dict[str, Any]:
        department = self._department(name)
        self.departments.append(department)
        return department

    def department(self, ref: str | None) -> dict[str, Any] | None:
        """A department by `_id` or by name (§2.1)."""
        for department in self.departments:
            if ref in (department["_id"], department["name"]):
                return department
        return None

    def agent(self, username: str, name: str | None = None) -> dict[str, Any]:
        user = self.agents.get(username)
        if user is None:
            user = {"_id": meteor_id(), "username": username, "name": name or username,
                    "emails": [{"address": f"{username}@example.org"}]}  # fmt: skip
            self.agents[username] = user
        elif name:
            user["name"] = name
        return user

    def next_guest_username(self) -> str:
        self._guests += 1
        return f"guest-{self._guests}"

    def open_room_of(self, token: str) -> dict[str, Any] | None:
        for room in self.rooms.values():
            if room["v"]["token"] == token and room["open"]:
                return room
        return None

    def remove_visitor(self, token: str) -> dict[str, Any]:
        """Removing a visitor deletes its rooms, messages, files and inquiries (§2.2)."""
        visitor = self.visitors.pop(token)
        for rid in [rid for rid, room in self.rooms.items() if room["v"]["token"] == token]:
            del self.rooms[rid]
            for message in self.room_messages.pop(rid, []):
                self.messages_by_id.pop(message["_id"], None)
        return visitor

    def visitor_room(self, rid: str, token: str) -> dict[str, Any] | None:
        """ "Room lookup" of §2: `_id` = rid and `v.token` = token, open or closed."""
        room = self.rooms.get(rid)
        if room is None or room["v"]["token"] != token:
            return None
        return room

    def add_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Insert into the messages collection; a reused `_id` is a duplicate key (§2.4)."""
        message_id = message.setdefault("_id", meteor_id())
        if message_id in self.messages_by_id:
            raise duplicate_key(message_id)
        self.messages_by_id[message_id] = message
        self.room_messages.setdefault(message["rid"], []).append(message)
        room = self.rooms[message["rid"]]
        room["_updatedAt"] = message["_updatedAt"]
        if "t" not in message:
            room["lm"] = message["ts"]
            room["msgs"] = room.get("msgs", 0) + 1
        return message

    def message(self, rid: str, user: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
        """A message document as the server stores it (§2.4)."""
        now = self.now()
        md = [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": text}]}]
        return {
            "rid": rid,
            "msg": text,
            **extra,
            "ts": now,
            "u": {key: user[key] for key in ("_id", "username", "name") if user.get(key)},
            "_updatedAt": now,
            "urls": [],
            "mentions": [],
            "channels": [],
            "md": md if text else [],
        }

    def system_message(self, rid: str, kind: str, user: dict[str, Any], text: str = "") -> None:
        message = self.message(rid, user, text, t=kind, groupable=False)
        for key in ("urls", "mentions", "channels", "md"):
            message.pop(key)
        self.add_message(message)

    def stored_file(self, rid: str, name: str, mime: str, data: bytes) -> StoredFile:
        stored = StoredFile(meteor_id(), rid, name, mime, data)
        self.files[stored.file_id] = stored
        return stored
