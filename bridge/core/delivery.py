"""Carrying out one outbox command against the ports. Knows commands, not wire formats."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

import structlog

from bridge.core import phones
from bridge.core.decide import Texts, window_open
from bridge.core.keyed import KeyedHash
from bridge.core.lines import Lines
from bridge.core.model import (
    DERIVED_TOKEN,
    CitizenMessage,
    Command,
    Conversation,
    ConversationKey,
    MarkRead,
    Media,
    OpenRoom,
    PostNotice,
    RelayToRoom,
    RoomId,
    SendFile,
    SendMenu,
    SendTemplate,
    SendText,
    State,
    VisitorToken,
)
from bridge.core.ports import (
    CredentialsRefused,
    DeliveryError,
    Download,
    Links,
    NoAgentOnline,
    Permanent,
    RocketChat,
    RoomIsClosed,
    RoomLabels,
    TooLong,
    UnknownDepartment,
    WhatsApp,
    WindowClosed,
)
from bridge.core.storage import Link
from bridge.core.text import split

log = structlog.get_logger("bridge.delivery")

RoomOpened = Callable[[VisitorToken, RoomId], Awaitable[None]]


@dataclass(frozen=True)
class Delivered:
    links: tuple[Link, ...] = ()
    file_refused: str | None = None  # a citizen's file went as text instead: why


def message_id_for(source: str) -> str:
    """A Rocket.Chat message `_id` derived from what it carries, so a retried send is
    recognised by Rocket.Chat as the same message instead of creating a second one."""
    return hashlib.sha256(source.encode()).hexdigest()[:24]


class Deliverer:
    def __init__(
        self,
        whatsapp: Mapping[str, WhatsApp],
        rocketchat: RocketChat,
        token_secret: bytes,
        lines: Lines,
        *,
        links: Links,
        texts: Texts,
        window_margin: float = 300.0,
        max_file_bytes: int = 100 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._numbers = whatsapp  # phone number id -> its client (token, sending number)
        self._rc = rocketchat
        self._token_key = KeyedHash(token_secret)
        self._lines = lines
        self._links = links
        self._texts = texts
        self._margin = window_margin
        self._max_bytes = max_file_bytes
        self._clock = clock

    def visitor_token(self, key: ConversationKey) -> VisitorToken:
        return derive_visitor_token(self._token_key, key)

    def token_of(self, conv: Conversation) -> VisitorToken | None:
        """The conversation's visitor token, derived again where it was not stored."""
        if conv.visitor_token == DERIVED_TOKEN:
            return self.visitor_token(conv.key)
        return conv.visitor_token

    def _room_of(
        self, conv: Conversation, posted_in: str | None = None
    ) -> tuple[VisitorToken, RoomId]:
        """The visitor's token and the conversation's open room, or `posted_in` (an agent
        file's room, readable with the token even once closed, §5)."""
        token = self.token_of(conv)
        room = RoomId(posted_in) if posted_in else conv.room_id
        if room is None or token is None:
            raise RoomIsClosed("no open room")
        return token, room

    async def deliver(
        self, ref: str, command: Command, conv: Conversation, opened: RoomOpened
    ) -> Delivered:
        """Carry out one command. `ref` names its outbox row uniquely and for good (id and
        creation time): a retry reuses it, another database never does."""
        if isinstance(command, SendText | SendMenu | SendFile):
            self._check_window(conv)
        wa = self._whatsapp(conv)
        match command:
            case SendText():
                quoted = await self._quoted(command.reply_to)
                wamid = await wa.send_text(conv.key.wa_id, command.text, quoted)
                return _out_link(wamid, command.origin, command.text)
            case SendMenu():
                await wa.send_interactive(conv.key.wa_id, command.reply)
                return Delivered()
            case SendFile():
                return await self._send_file(command, conv, wa)
            case SendTemplate():
                wamid = await wa.send_template(
                    conv.key.wa_id, command.name, command.language, command.parameters
                )
                # Linked like an agent's reply, so that a later `failed` status (a paced
                # template dropped with 132015, §5.2) finds the conversation and the agent,
                # who was told the citizen would get it, hears that it did not.
                link = Link(wamid, f"template:{ref}", "out", f"[{command.name}]")
                return Delivered((link,))
            case MarkRead():
                await self._mark_read(command, wa)
                return Delivered()
            case OpenRoom():
                await self._open_room(ref, command, conv, opened)
                return Delivered()
            case RelayToRoom():
                return await self._relay(command, conv, wa)
            case PostNotice():
                token, room = self._room_of(conv)
                await self._post(token, room, command.text, message_id_for(f"n:{room}:{ref}"))
                return Delivered()
        raise AssertionError(f"unknown command {command!r}")  # pragma: no cover

    def _whatsapp(self, conv: Conversation) -> WhatsApp:
        """The client of the number the citizen wrote to: replies leave from it."""
        found = self._numbers.get(conv.key.phone_number_id)
        if found is None:
            raise Permanent(f"phone number {conv.key.phone_number_id} is not configured")
        return found

    async def _mark_read(self, command: MarkRead, wa: WhatsApp) -> None:
        # Blue ticks and the typing indicator are courtesy: one that fails (a message
        # older than 30 days, a hiccup) is not worth holding the reply behind it.
        try:
            await wa.mark_read(command.message_id, command.typing)
        except DeliveryError as exc:
            log.debug("delivery.mark_read_failed", reason=exc.reason)

    def _check_window(self, conv: Conversation) -> None:
        # Free-form messages outside the 24 h window are accepted by Graph and then fail
        # (131047, often only as a later `failed` status): better not to send them at all.
        if not window_open(conv, self._clock(), self._margin):
            raise WindowClosed("24 h window closed")

    async def _send_file(self, command: SendFile, conv: Conversation, wa: WhatsApp) -> Delivered:
        excerpt = f"📎 {command.name}"
        if command.from_edit and await self._links.relayed(command.origin, excerpt):
            return Delivered()  # this file went out with the original
        token, room = self._room_of(conv, command.room)
        limit = min(self._max_bytes, wa.media_limit(command.mime))
        file = await self._rc.download(command.url, token, room, limit)
        try:
            wamid = await wa.send_file(conv.key.wa_id, file, command.caption)
        finally:
            file.close()
        return _out_link(wamid, command.origin, excerpt)

    async def _open_room(
        self, ref: str, command: OpenRoom, conv: Conversation, opened: RoomOpened
    ) -> None:
        if conv.room_id is None and conv.state is not State.WAITING:
            # The room this request opened was closed while its transcript was being
            # retried (the agent saw an empty room): the bot has the conversation back,
            # and a second room would wait for an agent nobody asked for.
            log.info("delivery.room_request_obsolete", conversation=conv.id)
            return
        if conv.room_id is None or conv.visitor_token is None:
            await self._check_online(command)
            token = await self._register(conv, command)
            room = await self._rc.open_room(token)
            derived = token == self.visitor_token(conv.key)
            await opened(DERIVED_TOKEN if derived else token, room)
        else:
            token, room = self._room_of(conv)
        # The room's id makes this unique across databases: a restored backup or a second
        # bridge restarts row ids, and a duplicate `_id` would be taken for "delivered".
        transcript_id = message_id_for(f"o:{room}:{ref}")
        await self._post(token, room, command.transcript, transcript_id)
        if command.tags or command.topic or command.priority or command.fields:
            await self._label(room, token, command)

    async def _register(self, conv: Conversation, command: OpenRoom) -> VisitorToken:
        # Rocket.Chat may hand back another visitor's token when the phone is already
        # known (contract §2.1): always keep the token it returns.
        phone = phones.display(conv.key.wa_id)
        name = conv.profile_name or phone
        ours = self.token_of(conv) or self.visitor_token(conv.key)
        token = await self._register_as(conv, command, ours, name, phone)
        if token != ours and self._of_another_number(token, conv.key):
            # The citizen also writes to another of our numbers: Rocket.Chat matched the
            # phone and gave back that conversation's visitor, whose open room it would
            # share (§2.3: one open room per visitor), so agents' replies would leave from
            # the wrong number. A visitor of its own, with the phone in its name only.
            log.info("delivery.visitor_of_another_number")
            token = await self._register_as(conv, command, ours, f"{name} · {phone}", "")
        return token

    def _of_another_number(self, token: VisitorToken, key: ConversationKey) -> bool:
        return any(
            token == self.visitor_token(ConversationKey(number, key.wa_id))
            for number in self._numbers
            if number != key.phone_number_id
        )

    async def _register_as(
        self, conv: Conversation, command: OpenRoom, token: VisitorToken, name: str, phone: str
    ) -> VisitorToken:
        register = partial(self._rc.register_visitor, token, name, phone, fields=command.fields)
        fallback = self._lines.of(conv.key.phone_number_id).policy.default_department
        try:
            return await register(department=command.department)
        except UnknownDepartment:
            if command.department == fallback:
                raise
            # Community Edition has one department (contract §3.2): a flow written for
            # several still reaches a person (the number's default department, or any
            # when empty); the transcript, topic and tags keep what it was about.
            log.warning(
                "delivery.department_unknown", department=command.department, fallback=fallback
            )
            return await register(department=fallback)

    async def _check_online(self, command: OpenRoom) -> None:
        # Asking first spares the visitor/room calls (5/min per IP, contract §2.1) and lets
        # the flow's offline policy act before a room exists. 'queue' asks only until the
        # citizen was told; then the room is opened anyway and waits in Rocket.Chat's queue.
        if command.offline == "queue" and command.told_no_agent:
            return
        if not await self._rc.agents_online(command.department):
            raise NoAgentOnline("livechat/config: offline")

    async def _label(self, room: RoomId, token: VisitorToken, command: OpenRoom) -> None:
        try:
            labels = RoomLabels(command.topic, command.tags, command.fields, command.priority)
            await self._rc.label_room(room, token, labels)
        except Exception as exc:  # labels help agents sort; the room itself is already open
            log.warning("delivery.label_failed", room_id=room, error=str(exc))

    async def _relay(self, command: RelayToRoom, conv: Conversation, wa: WhatsApp) -> Delivered:
        token, room = self._room_of(conv)
        msg = command.message
        rc_id = message_id_for(f"wa:{msg.wamid}")
        text = await self._room_text(msg)
        link = Link(msg.wamid, rc_id, "in", msg.text)
        if msg.media is None:
            await self._post(token, room, text or "-", rc_id)
            return Delivered((link,))
        try:
            # A refused WhatsApp token must not hold the citizen's words (and all they
            # write after them) until it is replaced: the file is described instead.
            file = await wa.download_media(msg.media.media_id, self._max_bytes)
            rc_id = await self._upload(token, room, file, msg.media, text)
        except (Permanent, CredentialsRefused) as exc:
            # The citizen's words must not be lost with the file: say what it was instead.
            log.warning("delivery.media_failed", reason=exc.reason, kind=msg.media.kind)
            note = f"[{msg.media.kind}: {exc.reason}] {text}".strip()
            await self._post(token, room, note, rc_id)
            return Delivered((link,), file_refused=exc.reason)
        return Delivered((Link(msg.wamid, rc_id, "in", msg.text or msg.media.kind),))

    async def _post(self, token: VisitorToken, room: RoomId, text: str, message_id: str) -> None:
        """A text into the room. Over Rocket.Chat's optional character limit it goes in
        halves, and halves of those, as long as needed: the citizen's words (or the
        handoff's transcript) are never lost to it. Each part's id derives from the whole's,
        so a retry sends none twice."""
        try:
            await self._rc.send_message(token, room, text, message_id)
        except TooLong:
            if len(text) < 2:
                raise
            for n, part in enumerate(split(text, len(text) // 2)):
                await self._post(token, room, part, message_id_for(f"{message_id}:{n}"))

    async def _quoted(self, rocketchat_id: str | None) -> str | None:
        """The WhatsApp id of a message an agent quoted (or corrects), when there is one."""
        return await self._links.whatsapp_id(rocketchat_id) if rocketchat_id else None

    async def _room_text(self, msg: CitizenMessage) -> str:
        """What agents read: a reaction as a line saying to what, a reply with the first
        words of what it answers (when the bridge relayed or sent that message)."""
        texts = self._texts
        if msg.reacts_to is not None:
            quote = await self._links.excerpt(msg.reacts_to)
            if quote:
                return texts.reaction.format(emoji=msg.text, quote=quote)
            return texts.reaction_unknown.format(emoji=msg.text)
        if msg.reply_to and (quote := await self._links.excerpt(msg.reply_to)):
            return texts.quoted_reply.format(quote=quote, text=msg.text or "-")
        return msg.text

    async def _upload(
        self, token: VisitorToken, room: RoomId, file: Download, media: Media, caption: str
    ) -> str:
        try:
            if media.filename and not file.filename:
                file = file.renamed(media.filename)
            return await self._rc.upload(token, room, file, caption)
        finally:
            file.close()


def derive_visitor_token(keyed: KeyedHash, key: ConversationKey) -> VisitorToken:
    """Keyed by a secret: anyone holding a visitor token can read the room's history
    through the anonymous livechat API, so it must not be guessable from a phone."""
    digest = keyed.hexdigest(f"{key.phone_number_id}:{key.wa_id}".encode())
    return VisitorToken("wa-" + digest[:40])


def _out_link(wamid: str, origin: str | None, excerpt: str) -> Delivered:
    return Delivered((Link(wamid, origin, "out", excerpt),)) if origin else Delivered()
