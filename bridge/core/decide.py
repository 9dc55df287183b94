"""decide(): the conversation's state machine. Pure: no I/O, no clock, no wire format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bridge.core import phones
from bridge.core.model import (
    AgentMessage,
    CitizenMessage,
    Command,
    Conversation,
    MarkRead,
    OpenRoom,
    OutboundFailed,
    PostNotice,
    RelayToRoom,
    RoomClosed,
    RoomEvent,
    RoomForwarded,
    RoomTaken,
    SendFile,
    SendText,
    State,
    WaMessageId,
)
from bridge.core.text import split

WINDOW_CLOSED = 131047  # Graph: more than 24 h since the citizen's last message
WINDOW_SECONDS = 24 * 3600  # the customer-service window (contract §8.1)


@dataclass(frozen=True)
class Texts:
    """Everything the bridge itself says (config/messages.yaml; Brazilian Portuguese)."""

    no_agent_online: str
    room_closed: str
    transcript: str  # placeholders: {name}, {phone}, {department}
    agent_prefix: str  # placeholders: {agent}, {text}
    edited: str  # placeholders: {text}
    window_closed_notice: str
    not_delivered_notice: str  # placeholders: {code}, {reason}
    unsupported_file_notice: str  # placeholders: {name}
    handoff_failed: str = ""  # to the citizen, when a room could not be opened at all
    priority_topic: dict[str, str] = field(default_factory=dict)  # priority -> topic prefix
    window_template_notice: str = ""  # placeholders: {template}
    window_waiting_notice: str = ""
    template_failed_notice: str = ""  # placeholders: {template}, {code}, {reason}
    file_not_delivered: str = ""  # to the citizen; placeholders: {name}
    file_not_relayed: str = ""  # to the citizen: their file reached the room as text only
    agent_took: str = ""  # to the citizen, when an agent takes the chat; {agent}
    quoted_reply: str = "{text}"  # in the room: a citizen's reply; {quote}, {text}
    reaction: str = "{emoji}"  # in the room: a citizen's reaction; {emoji}, {quote}
    reaction_unknown: str = "{emoji}"  # the same when the message is not known; {emoji}


@dataclass(frozen=True)
class Template:
    """The re-engagement template sent when the window has closed. Each parameter may use
    {name} (the citizen's WhatsApp name) and {agent} (who wrote the held message)."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()

    def fill(self, name: str, agent: str) -> tuple[str, ...]:
        # A template parameter may not be empty (Meta answers 132000), hence the dash.
        return tuple(p.format(name=name or "-", agent=agent or "-") for p in self.parameters)


@dataclass(frozen=True)
class Policy:
    default_department: str
    agent_prefix: bool
    texts: Texts
    template: Template | None = None
    window_margin: float = 300.0  # seconds before 24 h at which the window counts as closed
    read_receipts: bool = True  # blue ticks once the bot or an agent answered
    announce_agent: bool = False  # tell the citizen who took the chat
    typing: bool = True  # the typing indicator while a reply is on its way (implies read)

    def read(self, conv: Conversation) -> tuple[Command, ...]:
        """Mark the citizen's last message read (and show typing), before a reply."""
        if conv.last_wamid is None or not (self.read_receipts or self.typing):
            return ()
        return (MarkRead(conv.last_wamid, typing=self.typing),)


def window_open(conv: Conversation, now: float, margin: float) -> bool:
    """Whether a free-form message sent now reaches the citizen (contract §8.1). The
    margin keeps a message in flight away from the edge; Meta's clock decides."""
    if conv.last_citizen_at is None:
        return False
    return now < conv.last_citizen_at + WINDOW_SECONDS - margin


@dataclass(frozen=True)
class Survey:
    """A satisfaction answer after an agent closed the room; with no score, the comment
    that followed the conversation's latest one (recorded when its score came)."""

    score: int | None
    comment: str | None
    department: str


@dataclass(frozen=True)
class Decision:
    conversation: Conversation
    commands: tuple[Command, ...] = ()
    counters: tuple[tuple[str, str], ...] = ()  # (name, label) to add one to
    surveys: tuple[Survey, ...] = ()
    release_held: bool = False  # messages held for the window go back to the queue


Step = Callable[[Conversation], Decision]


def chain(first: Decision, second: Decision) -> Decision:
    """Two decisions in a row on one conversation, the second made from the first's."""
    return Decision(
        second.conversation,
        first.commands + second.commands,
        first.counters + second.counters,
        first.surveys + second.surveys,
        first.release_held or second.release_held,
    )


@dataclass(frozen=True)
class BotTurn:
    """What the first-layer bot made of one citizen message."""

    bot_state: str | None
    commands: tuple[Command, ...] = ()
    handoff: OpenRoom | None = None
    counters: tuple[tuple[str, str], ...] = field(default=())
    surveys: tuple[Survey, ...] = ()


class Bot(Protocol):
    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn: ...

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        """The agent closed the room; not `reachable`: the 24 h window is closed."""
        ...

    def no_agent(self, conversation: Conversation) -> BotTurn:
        """Nobody is online for the handoff the last turn asked for (policy not 'wait')."""
        ...


def on_citizen(
    conv: Conversation,
    msg: CitizenMessage,
    policy: Policy,
    bot: Bot | None,
    now: float | None = None,
) -> Decision:
    """A citizen's message. `now` (when given) tells whether it reopened the window."""
    decision = _citizen(conv, msg, policy, bot)
    if conv.held_since is None:
        return decision
    if now is not None and not window_open(decision.conversation, now, policy.window_margin):
        # Written long ago and delivered late (Meta retries for days): the window it
        # opened is closed again, and what is held would only be held again, with a
        # second template and a second notice.
        return decision
    # The citizen wrote: the window is open again, and what agents wrote meanwhile goes
    # out now, in the order they wrote it.
    opened = replace(decision.conversation, held_since=None)
    return replace(decision, conversation=opened, release_held=True)


def _citizen(conv: Conversation, msg: CitizenMessage, policy: Policy, bot: Bot | None) -> Decision:
    conv = replace(
        conv,
        profile_name=msg.profile_name or conv.profile_name,
        last_citizen_at=max(conv.last_citizen_at or 0.0, msg.timestamp),
        last_wamid=msg.wamid,
    )
    if conv.state is not State.BOT:
        return Decision(conv, (RelayToRoom(msg),))
    if msg.reacts_to is not None:
        return Decision(conv, (), (("reaction", ""),))  # a 👍 to the bot needs no answer
    if bot is None:
        handed = _hand_off(conv, msg, _plain_handoff(conv, policy), policy)
        return replace(handed, counters=(("contact", ""), *handed.counters))
    turn = bot.turn(conv, msg)
    conv = replace(conv, bot_state=turn.bot_state)
    read = policy.read(conv) if turn.commands else ()
    if turn.handoff is None:
        return Decision(conv, read + turn.commands, turn.counters, turn.surveys)
    handed = _bot_hand_off(conv, msg, turn, turn.handoff, policy)
    return replace(handed, commands=read + handed.commands)


def _bot_hand_off(
    conv: Conversation, msg: CitizenMessage, turn: BotTurn, open_room: OpenRoom, policy: Policy
) -> Decision:
    handed = _hand_off(conv, msg, replace(open_room, attachments=()), policy, relay=False)
    # Each collected file is its own row behind the room request: an upload has no id to
    # deduplicate a retry by, so a failure on one file must not re-send the others.
    files = tuple(
        RelayToRoom(
            replace(
                msg,
                wamid=WaMessageId(f"bot-file.{media.media_id}"),
                text=media.filename or "",
                choice_id=None,
                media=media,
                location=None,
            )
        )
        for media in open_room.attachments
    )
    return replace(
        handed,
        commands=turn.commands + handed.commands + files,
        counters=turn.counters + handed.counters,
        surveys=turn.surveys,
    )


def _plain_handoff(conv: Conversation, policy: Policy) -> OpenRoom:
    transcript = policy.texts.transcript.format(
        name=conv.profile_name or "-", phone=phones.display(conv.key.wa_id), department=""
    )
    return OpenRoom(department=policy.default_department, transcript=transcript)


def _topic(open_room: OpenRoom, policy: Policy) -> str:
    """The priority's label first (configured words), then the service or the tags."""
    prefix = policy.texts.priority_topic.get(open_room.priority or "", "")
    rest = [open_room.topic] if open_room.topic else list(open_room.tags)
    return " · ".join(filter(None, [prefix, *rest]))


def _hand_off(
    conv: Conversation,
    msg: CitizenMessage,
    open_room: OpenRoom,
    policy: Policy,
    *,
    relay: bool = True,
) -> Decision:
    open_room = replace(open_room, topic=_topic(open_room, policy))
    conv = replace(conv, state=State.WAITING, department=open_room.department, room_id=None)
    commands: tuple[Command, ...] = (open_room, RelayToRoom(msg)) if relay else (open_room,)
    return Decision(conv, commands, (("handoff", open_room.department),))


def on_bounce(
    conv: Conversation,
    msg: CitizenMessage,
    policy: Policy,
    bot: Bot | None,
    now: float | None = None,
) -> Decision:
    """A relay found no open room (closed by an agent whose webhook we missed, the visitor
    removed, or the room request given up): the message starts a new contact. If a new
    room is already being asked for, the message waits behind that request instead."""
    if conv.state is State.WAITING and conv.room_id is None:
        return Decision(conv, (RelayToRoom(msg),))
    return on_citizen(replace(conv, state=State.BOT, room_id=None), msg, policy, bot, now)


def on_room_request_dead(conv: Conversation, tell: str = "") -> Decision:
    """Rocket.Chat never took the room request: the bot (or the next message) starts over,
    and messages queued behind the request bounce back to it instead of waiting forever.
    `tell` is what the citizen hears, when nothing else is about to happen for them."""
    if conv.state is not State.WAITING:
        return Decision(conv)
    back = replace(conv, state=State.BOT, room_id=None)
    return Decision(back, (SendText(tell),) if tell else (), (("handoff_failed", ""),))


def on_room(
    conv: Conversation,
    event: RoomEvent,
    policy: Policy,
    bot: Bot | None,
    now: float | None = None,
) -> Decision:
    """An agent-side event. `now` (when given) decides whether the bot's goodbye and
    survey after a close can still reach the citizen."""
    match event:
        case AgentMessage():
            commands = _agent_commands(event, policy)
            read = policy.read(conv) if commands else ()
            return Decision(conv, read + commands, (("agent_message", ""),))
        case RoomClosed():
            closed = replace(conv, state=State.BOT, room_id=None)
            if bot is None:
                texts = policy.texts.room_closed
                return Decision(closed, (SendText(texts),) if texts else (), (("closed", ""),))
            # A survey outside the window would be dropped on its way while the bot waited
            # for its answer, and took the citizen's next words (a new request) for one.
            reachable = now is None or window_open(conv, now, policy.window_margin)
            turn = bot.after_close(closed, reachable)
            closed = replace(closed, bot_state=turn.bot_state)
            counters = (("closed", ""), *turn.counters)
            return Decision(closed, turn.commands, counters, turn.surveys)
        case RoomForwarded():
            return Decision(replace(conv, department=event.department))
        case RoomTaken():
            counted = (("room_taken", conv.department),)
            told = policy.texts.agent_took if policy.announce_agent else ""
            if not told or not event.agent_name:
                return Decision(conv, (), counted)
            return Decision(conv, (SendText(told.format(agent=event.agent_name)),), counted)
    raise AssertionError(f"unexpected room event {event!r}")  # pragma: no cover


def _agent_commands(event: AgentMessage, policy: Policy) -> tuple[Command, ...]:
    """The agent's words (cut where WhatsApp needs them cut), then each file, in order. A
    quote, or a correction of an earlier message, is shown quoting that message. An
    edit's files go only if they never went with the original (SendFile.from_edit: the
    deliverer looks for each file's own link)."""
    texts = policy.texts
    said: list[Command] = []
    text = event.text.strip()
    quoted = event.message_id if event.edited_at else event.quotes
    if text:
        if event.edited_at:
            text = texts.edited.format(text=text)
        if policy.agent_prefix and event.agent_name:
            text = texts.agent_prefix.format(agent=event.agent_name, text=text)
        said = [
            SendText(
                part,
                origin=event.message_id,
                agent=event.agent_name,
                reply_to=quoted if n == 0 else None,
            )
            for n, part in enumerate(split(text))
        ]
    edited = event.edited_at is not None
    files: list[Command] = [
        SendFile(
            f.url,
            f.name,
            f.mime,
            None,
            event.message_id,
            event.agent_name,
            room=event.room_id,
            from_edit=edited,
        )
        for f in event.files
    ]
    return tuple(said + files)


def on_outbound_failed(conv: Conversation, event: OutboundFailed, policy: Policy) -> Decision:
    """Tell the agent, in the room, that a reply did not reach the citizen. A 131047 is
    Meta saying the 24 h window is closed, whatever the bridge's own count said (contract
    §8.1: Meta's clock decides): it is closed here too, so the agent's next messages wait
    for the citizen (with the re-engagement template) instead of failing one by one."""
    conv = _closed_by(conv, event)
    if conv.room_id is None and conv.state is not State.WAITING:
        return Decision(conv, (), (("not_delivered", str(event.code)),))
    texts = policy.texts
    if event.code == WINDOW_CLOSED:
        notice = texts.window_closed_notice
    else:
        notice = texts.not_delivered_notice.format(code=event.code, reason=event.title)
    return Decision(conv, (PostNotice(notice),), (("not_delivered", str(event.code)),))


def _closed_by(conv: Conversation, event: OutboundFailed) -> Conversation:
    """The conversation with its window closed, if `event` is Meta saying so. A 131047
    about a message sent before the citizen's last one (a late status) says nothing of
    the window that message reopened."""
    last = conv.last_citizen_at
    if event.code != WINDOW_CLOSED or last is None or (event.at is not None and event.at < last):
        return conv
    return replace(conv, last_citizen_at=last - WINDOW_SECONDS)


def on_no_agent(command: OpenRoom, policy: Policy) -> tuple[OpenRoom, tuple[Command, ...]]:
    """Rocket.Chat has nobody online ('wait' and 'queue'): tell the citizen once, keep the
    request (the citizen's words stay queued behind it)."""
    if command.told_no_agent:
        return command, ()
    text = command.offline_text or policy.texts.no_agent_online
    return replace(command, told_no_agent=True), (SendText(text),)


def gives_back(command: OpenRoom) -> bool:
    """Whether a refused room goes back to the bot instead of waiting for an agent."""
    return command.offline in ("tell_hours", "leave_message")


def on_no_agent_bot(conv: Conversation, command: OpenRoom, bot: Bot, policy: Policy) -> Decision:
    """Nobody online and the flow does not queue: the bot takes the conversation back and
    tells the citizen (the hours, or asks for a message to pass on later)."""
    back = replace(conv, state=State.BOT, room_id=None)
    turn = bot.no_agent(back)
    back = replace(back, bot_state=turn.bot_state)
    refused = (("handoff_refused", command.department),)
    if turn.handoff is not None:
        # The flow sends refused cases elsewhere (offline_goto into another handoff). The
        # citizen was just told; that room is opened and waits in the queue, so a refusal
        # there cannot bounce back here in a loop.
        queued = replace(turn.handoff, offline="queue", told_no_agent=True)
        trigger = _trigger(conv)
        handed = _bot_hand_off(back, trigger, turn, queued, policy)
        return replace(handed, counters=refused + handed.counters)
    return Decision(back, turn.commands, refused + turn.counters, turn.surveys)


def _trigger(conv: Conversation) -> CitizenMessage:
    """A stand-in for the message that caused a handoff the outbox (not a message) made."""
    return CitizenMessage(
        conv.key, WaMessageId(f"handoff.{conv.id}"), conv.last_citizen_at or 0.0, "", ""
    )
