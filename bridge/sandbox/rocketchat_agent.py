"""The agents' side of the Rocket.Chat fake: what people do in the Omnichannel UI.

Each action changes the room like the server does and emits the webhook the real server
would send (contract rocketchat-omnichannel.md §4.3/§4.4): agent messages and edits as
``Message`` (with `agentId`), closing as ONE ``LivechatSession`` with the transcript.
"""

from __future__ import annotations

from typing import Any

from bridge.sandbox.rocketchat_files import file_fields
from bridge.sandbox.rocketchat_ops import close_room, serve_room
from bridge.sandbox.rocketchat_state import RCStore
from bridge.sandbox.rocketchat_webhooks import transcript


class AgentConsole:
    """Mixed into FakeRocketChat; relies on its store, settings and ``emit``."""

    store: RCStore
    site_url: str
    agents_online: bool
    offline_departments: set[str]
    default_agent: str
    default_agent_name: str

    def emit(
        self, switch: str, event: str, room: dict[str, Any], messages: list[dict[str, Any]]
    ) -> None:
        raise NotImplementedError

    def _open_room(self, rid: str) -> dict[str, Any]:
        room = self.store.rooms.get(rid)
        if room is None:
            raise ValueError(f"unknown room {rid!r}")
        if not room["open"]:
            raise ValueError(f"room {rid!r} is closed")
        return room

    def _agent_in(self, room: dict[str, Any], agent: str, agent_name: str) -> dict[str, Any]:
        """The agent user; an agent writing in a queued room takes it first."""
        user = self.store.agent(agent, agent_name)
        if "servedBy" not in room:
            serve_room(self.store, room, user)
            self.emit("LivechatSessionTaken", "LivechatSessionTaken", room,
                      transcript(self.store, room["_id"]))  # fmt: skip
        return user

    async def take_room(
        self, rid: str, *, agent: str = "ana", agent_name: str = "Ana Souza"
    ) -> None:
        """An agent takes a queued room (inquiries.take): `LivechatSessionTaken`."""
        room = self._open_room(rid)
        serve_room(self.store, room, self.store.agent(agent, agent_name))
        self.emit("LivechatSessionTaken", "LivechatSessionTaken", room,
                  transcript(self.store, rid))  # fmt: skip

    async def agent_says(
        self, rid: str, text: str, *, agent: str = "ana", agent_name: str = "Ana Souza"
    ) -> str:
        """The agent writes `text`; returns the message `_id`."""
        room = self._open_room(rid)
        user = self._agent_in(room, agent, agent_name)
        message = self.store.add_message(self.store.message(rid, user, text))
        self.emit("Message agent", "Message", room, [message])
        return str(message["_id"])

    async def agent_edits(self, rid: str, msg_id: str, text: str) -> None:
        """Edits emit another ``Message`` with the same `_id` and an `editedAt` (§4.4)."""
        message = self.store.messages_by_id.get(msg_id)
        if message is None or message["rid"] != rid:
            raise ValueError(f"unknown message {msg_id!r} in room {rid!r}")
        now = self.store.now()
        md = [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": text}]}]
        message.update({"msg": text, "md": md, "editedAt": now, "_updatedAt": now,
                        "editedBy": {"_id": message["u"]["_id"],
                                     "username": message["u"]["username"]}})  # fmt: skip
        switch = "Message visitor" if "token" in message else "Message agent"
        self.emit(switch, "Message", self.store.rooms[rid], [message])

    async def agent_sends_file(
        self,
        rid: str,
        data: bytes,
        name: str,
        mime: str,
        *,
        description: str | None = None,
        agent: str = "ana",
        agent_name: str = "Ana Souza",
    ) -> str:
        """A file upload by the agent: empty `msg` (absent in the webhook), description in
        the attachment, `fileUpload.publicFilePath` absolute (§4.3, §5)."""
        room = self._open_room(rid)
        user = self._agent_in(room, agent, agent_name)
        stored = self.store.stored_file(rid, name, mime, data)
        message = self.store.message(rid, user, "", **file_fields(stored, description))
        self.store.add_message(message)
        self.emit("Message agent", "Message", room, [message])
        return str(message["_id"])

    async def agent_sends_files(
        self,
        rid: str,
        files: list[tuple[bytes, str, str]],
        *,
        agent: str = "ana",
        agent_name: str = "Ana Souza",
    ) -> str:
        """Several files in one message, as 8.x's composer sends them: `file` is the first
        "for compatibility", `files` and `attachments` list them all (§5)."""
        room = self._open_room(rid)
        user = self._agent_in(room, agent, agent_name)
        stored = [self.store.stored_file(rid, name, mime, data) for data, name, mime in files]
        each = [file_fields(s, None) for s in stored]
        fields = {
            "file": each[0]["file"],
            "files": [f["file"] for f in each],
            "attachments": [f["attachments"][0] for f in each],
        }
        message = self.store.message(rid, user, "", **fields)
        self.store.add_message(message)
        self.emit("Message agent", "Message", room, [message])
        return str(message["_id"])

    async def agent_quotes(
        self,
        rid: str,
        quoted_id: str,
        text: str,
        *,
        agent: str = "ana",
        agent_name: str = "Ana Souza",
    ) -> str:
        """A reply quoting an earlier message: the permalink in front of the text and a
        quote attachment with `message_link` (Rocket.Chat's createQuoteAttachment)."""
        room = self._open_room(rid)
        user = self._agent_in(room, agent, agent_name)
        quoted = self.store.messages_by_id[quoted_id]
        link = f"{self.site_url}/live/{rid}?msg={quoted_id}"
        attachment = {
            "text": quoted.get("msg", ""),
            "message_link": link,
            "author_name": quoted.get("alias") or quoted["u"]["username"],
            "attachments": [],
            "ts": quoted["ts"],
        }
        message = self.store.message(rid, user, f"[ ]({link}) {text}", attachments=[attachment])
        self.store.add_message(message)
        self.emit("Message agent", "Message", room, [message])
        return str(message["_id"])

    async def app_posts_blocks(
        self, rid: str, blocks: list[dict[str, Any]], *, agent: str = "ana"
    ) -> str:
        """An app (a bot integration in the room) posts UIKit blocks and no text."""
        room = self._open_room(rid)
        user = self._agent_in(room, agent, "Ana Souza")
        message = self.store.message(rid, user, "", blocks=blocks)
        self.store.add_message(message)
        self.emit("Message agent", "Message", room, [message])
        return str(message["_id"])

    async def close_room(
        self, rid: str, *, comment: str = "Atendimento encerrado", by: str = "ana"
    ) -> None:
        """Agent closes: `livechat-close` message and ONE ``LivechatSession`` (§4.4)."""
        room = self._open_room(rid)
        close_room(self.store, room, closer="user", by=self.store.agent(by), comment=comment)
        self.emit("LivechatSession", "LivechatSession", room, transcript(self.store, rid))

    async def forward_room(self, rid: str, department: str) -> None:
        """Forward to another department (by name or id): ``LivechatSessionForwarded``."""
        room = self._open_room(rid)
        target = self.store.department(department)
        if target is None:
            raise ValueError(f"unknown department {department!r}")
        old_department = room.get("departmentId")
        room["departmentId"] = target["_id"]
        room.pop("servedBy", None)
        user = self.store.agent(self.default_agent, self.default_agent_name)
        if self.agents_online and not {target["_id"], target["name"]} & self.offline_departments:
            serve_room(self.store, room, user)
        self.store.system_message(rid, "livechat_transfer_history", user)
        event_room = {**room, "oldDepartmentId": old_department}
        self.emit("LivechatSessionForwarded", "LivechatSessionForwarded", event_room,
                  transcript(self.store, rid))  # fmt: skip
