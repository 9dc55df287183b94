"""decide() as tables: (state, event) -> (state', commands)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bridge.core import decide
from bridge.core.decide import BotTurn, Policy
from bridge.core.model import (
    AgentFile,
    AgentMessage,
    CitizenMessage,
    Conversation,
    ConversationKey,
    MarkRead,
    Media,
    OpenRoom,
    OutboundFailed,
    PostNotice,
    RelayToRoom,
    RoomClosed,
    RoomForwarded,
    RoomId,
    RoomTaken,
    SendFile,
    SendText,
    State,
    VisitorToken,
    WaId,
    WaMessageId,
)

KEY = ConversationKey("1122334455667", WaId("5511912345678"))
NEW = Conversation(id=1, key=KEY)
WITH_AGENT = replace(NEW, state=State.AGENT, room_id=RoomId("r1"), visitor_token=VisitorToken("t1"))
WAITING = replace(NEW, state=State.WAITING, department="Atendimento")


def said(text: str = "oi", n: int = 1) -> CitizenMessage:
    return CitizenMessage(KEY, WaMessageId(f"wamid.{n}"), 1_700_000_000.0 + n, "Maria", text)


def agent(text: str, edited: str | None = None) -> AgentMessage:
    return AgentMessage(RoomId("r1"), "m1", edited, "Ana Souza", text)


def test_first_message_without_bot_hands_off_then_relays(policy: Policy) -> None:
    d = decide.on_citizen(NEW, said(), policy, None)
    assert d.conversation.state is State.WAITING
    assert d.conversation.department == "Atendimento"
    open_room, relay = d.commands
    assert isinstance(open_room, OpenRoom) and open_room.department == "Atendimento"
    assert "+5511912345678" in open_room.transcript and "Maria" in open_room.transcript
    assert relay == RelayToRoom(said())
    assert d.conversation.last_citizen_at == said().timestamp
    assert ("handoff", "Atendimento") in d.counters


@pytest.mark.parametrize("conv", [WAITING, WITH_AGENT])
def test_later_messages_are_relayed_only(conv: Conversation, policy: Policy) -> None:
    d = decide.on_citizen(conv, said("mais", 2), policy, None)
    assert d.commands == (RelayToRoom(said("mais", 2)),)
    assert d.conversation.state is conv.state


def test_window_start_never_moves_backwards(policy: Policy) -> None:
    late = replace(WITH_AGENT, last_citizen_at=1_800_000_000.0)
    d = decide.on_citizen(late, said(), policy, None)
    assert d.conversation.last_citizen_at == 1_800_000_000.0


@pytest.mark.parametrize(
    ("prefix", "edited", "expected"),
    [
        (True, None, "*Ana Souza*: Bom dia"),
        (False, None, "Bom dia"),
        (True, "2026-01-01T00:00:00Z", "*Ana Souza*: ✏️ Correção: Bom dia"),
    ],
)
def test_agent_text_goes_to_the_citizen(
    policy: Policy, prefix: bool, edited: str | None, expected: str
) -> None:
    d = decide.on_room(
        WITH_AGENT, agent("Bom dia", edited), replace(policy, agent_prefix=prefix), None
    )
    quoted = "m1" if edited else None  # a correction quotes the message it corrects
    assert d.commands == (SendText(expected, origin="m1", agent="Ana Souza", reply_to=quoted),)


def test_an_agents_quote_is_kept_for_the_first_part_only(policy: Policy) -> None:
    long = "x " * 3000
    event = replace(agent(long), quotes="rc-quoted")
    parts = decide.on_room(WITH_AGENT, event, policy, None).commands
    assert len(parts) == 2
    assert [p.reply_to for p in parts] == ["rc-quoted", None]  # type: ignore[union-attr]


def test_agent_file_goes_as_a_file(policy: Policy) -> None:
    event = replace(
        agent(""), files=(AgentFile("http://rc/file-upload/f/a.pdf", "a.pdf", "application/pdf"),)
    )
    d = decide.on_room(WITH_AGENT, event, policy, None)
    assert d.commands == (
        SendFile(
            "http://rc/file-upload/f/a.pdf",
            "a.pdf",
            "application/pdf",
            None,
            origin="m1",
            agent="Ana Souza",
            room="r1",  # fetched from the room it was posted in, even once it closed
        ),
    )


def test_an_edited_file_message_sends_its_new_caption_and_its_file_only_if_new(
    policy: Policy,
) -> None:
    pdf = AgentFile("/file-upload/f/a.pdf", "a.pdf", "application/pdf")
    event = replace(agent("guia corrigida", "2026-12-07T10:00:00Z"), files=(pdf,))
    commands = decide.on_room(WITH_AGENT, event, replace(policy, agent_prefix=False), None).commands
    # The file marked: the deliverer sends it only if it never went with the original.
    assert [type(c) for c in commands] == [SendText, SendFile]
    assert "guia corrigida" in commands[0].text  # type: ignore[union-attr]
    assert commands[1].from_edit  # type: ignore[union-attr]


def test_close_returns_to_the_start_with_the_closing_message(policy: Policy) -> None:
    d = decide.on_room(WITH_AGENT, RoomClosed(RoomId("r1")), policy, None)
    assert d.conversation.state is State.BOT and d.conversation.room_id is None
    assert d.commands == (SendText(policy.texts.room_closed),)


def test_close_with_empty_closing_message_sends_nothing(policy: Policy) -> None:
    quiet = replace(policy, texts=replace(policy.texts, room_closed=""))
    d = decide.on_room(WITH_AGENT, RoomClosed(RoomId("r1")), quiet, None)
    assert d.commands == ()


def test_forward_updates_the_department(policy: Policy) -> None:
    d = decide.on_room(WITH_AGENT, RoomForwarded(RoomId("r1"), "dep-2"), policy, None)
    assert d.conversation.department == "dep-2" and d.commands == ()


@pytest.mark.parametrize(("code", "needle"), [(131047, "24 horas"), (131026, "131026")])
def test_failed_delivery_becomes_a_notice(policy: Policy, code: int, needle: str) -> None:
    d = decide.on_outbound_failed(WITH_AGENT, OutboundFailed(WaMessageId("w"), code, "x"), policy)
    (notice,) = d.commands
    assert isinstance(notice, PostNotice) and needle in notice.text


NOW = 2_000_000_000.0


@pytest.mark.parametrize(
    ("code", "at", "closes"),
    [
        (131047, None, True),  # refused as it was sent
        (131047, NOW - 60, True),  # a failed status after the citizen's last message
        (131047, NOW - 7200, False),  # about a message sent before it: a late status
        (131026, None, False),
    ],
)
def test_metas_window_closed_closes_it_here_too(
    policy: Policy, code: int, at: float | None, closes: bool
) -> None:
    talking = replace(WITH_AGENT, last_citizen_at=NOW - 3600)  # open by the bridge's count
    failed = OutboundFailed(WaMessageId("w"), code, "x", at)
    d = decide.on_outbound_failed(talking, failed, policy)
    assert decide.window_open(d.conversation, NOW, 0) is not closes


def test_failed_delivery_without_a_room_is_only_counted(policy: Policy) -> None:
    d = decide.on_outbound_failed(NEW, OutboundFailed(WaMessageId("w"), 131047, "x"), policy)
    assert d.commands == () and d.counters == (("not_delivered", "131047"),)


def test_bounce_starts_a_new_contact(policy: Policy) -> None:
    d = decide.on_bounce(WITH_AGENT, said(), policy, None)
    assert d.conversation.state is State.WAITING and d.conversation.room_id is None
    assert [type(c) for c in d.commands] == [OpenRoom, RelayToRoom]


def test_bounce_while_a_room_is_being_asked_for_waits_behind_the_request(
    policy: Policy,
) -> None:
    d = decide.on_bounce(WAITING, said("segunda"), policy, None)
    assert d.conversation == WAITING
    assert d.commands == (RelayToRoom(said("segunda")),) and d.counters == ()


def test_a_dead_room_request_gives_the_conversation_back(policy: Policy) -> None:
    d = decide.on_room_request_dead(WAITING)
    assert d.conversation.state is State.BOT and d.commands == ()
    assert decide.on_room_request_dead(WITH_AGENT).conversation == WITH_AGENT
    told = decide.on_room_request_dead(WAITING, policy.texts.handoff_failed)
    assert told.commands == (SendText(policy.texts.handoff_failed),)
    assert "atendente" in policy.texts.handoff_failed


def test_collected_files_follow_the_room_request_as_their_own_rows(policy: Policy) -> None:
    photo = Media("image", "m-1", "image/jpeg", "poste.jpg")
    handoff = OpenRoom("Iluminação Pública", "Resumo", attachments=(photo,))
    bot = ScriptedBot(BotTurn(None, (), handoff))
    d = decide.on_citizen(NEW, said("pular"), policy, bot)
    opened, relay = d.commands
    assert isinstance(opened, OpenRoom) and opened.attachments == ()
    assert isinstance(relay, RelayToRoom) and relay.message.media == photo
    assert relay.message.wamid == "bot-file.m-1"


def test_a_refused_handoff_the_flow_sends_elsewhere_is_queued_there(policy: Policy) -> None:
    urgent = OpenRoom("Urgente", "Resumo", priority="urgent", offline="tell_hours")
    bot = ScriptedBot(BotTurn("{}", (SendText("Ninguém agora"),), urgent))
    d = decide.on_no_agent_bot(WAITING, OpenRoom("Atendimento", "t"), bot, policy)
    assert d.conversation.state is State.WAITING and d.conversation.department == "Urgente"
    told, queued = d.commands
    assert told == SendText("Ninguém agora")
    assert isinstance(queued, OpenRoom) and queued.offline == "queue" and queued.told_no_agent
    assert d.counters[0] == ("handoff_refused", "Atendimento")


def test_no_agent_is_told_once(policy: Policy) -> None:
    first, tell = decide.on_no_agent(OpenRoom("Atendimento", "t"), policy)
    assert tell == (SendText(policy.texts.no_agent_online),) and first.told_no_agent
    again, tell_again = decide.on_no_agent(first, policy)
    assert tell_again == () and again == first


class ScriptedBot:
    def __init__(self, turn: BotTurn) -> None:
        self.result = turn

    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn:
        return self.result

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        return self.result

    def no_agent(self, conversation: Conversation) -> BotTurn:
        return self.result


def test_bot_answers_without_handoff(policy: Policy) -> None:
    bot = ScriptedBot(BotTurn('{"node":"menu"}', (SendText("Menu"),), None, (("resolved", "faq"),)))
    d = decide.on_citizen(NEW, said(), policy, bot)
    assert d.conversation.state is State.BOT and d.conversation.bot_state == '{"node":"menu"}'
    assert d.commands == (SendText("Menu"),) and d.counters == (("resolved", "faq"),)


def test_bot_handoff_opens_the_flow_department_without_relaying_the_trigger(policy: Policy) -> None:
    handoff = OpenRoom("Iluminação Pública", "Resumo", priority="urgent")
    bot = ScriptedBot(BotTurn(None, (SendText("Transferindo"),), handoff))
    d = decide.on_citizen(NEW, said("atendente"), policy, bot)
    assert d.conversation.state is State.WAITING
    assert d.conversation.department == "Iluminação Pública"
    # The room's topic makes urgency visible in the queue (Community Edition has no priorities).
    assert d.commands == (SendText("Transferindo"), replace(handoff, topic="🚨 URGENTE"))


def test_a_citizen_message_releases_what_waited_for_the_window(policy: Policy) -> None:
    waiting = replace(WITH_AGENT, held_since=1_700_000_000.0)
    d = decide.on_citizen(waiting, said("voltei", 3), policy, None)
    assert d.release_held and d.conversation.held_since is None
    assert d.commands == (RelayToRoom(said("voltei", 3)),)
    assert not decide.on_citizen(WITH_AGENT, said("oi", 4), policy, None).release_held


def test_a_message_written_long_ago_and_delivered_late_releases_nothing(policy: Policy) -> None:
    """Meta retries for days: a message whose window has closed again must not release
    the held replies (they would be held again, with a second template)."""
    now = 2_000_000_000.0
    waiting = replace(WITH_AGENT, held_since=now - 3600, last_citizen_at=now - 30 * 3600)
    late = replace(said("ainda aí?"), timestamp=now - 26 * 3600)
    d = decide.on_citizen(waiting, late, policy, None, now)
    assert not d.release_held and d.conversation.held_since == now - 3600
    fresh = replace(said("voltei"), timestamp=now - 60)
    assert decide.on_citizen(waiting, fresh, policy, None, now).release_held
    # The same when the late message bounced off a room closed under it.
    assert not decide.on_bounce(waiting, late, policy, None, now).release_held
    assert decide.on_bounce(waiting, fresh, policy, None, now).release_held


@pytest.mark.parametrize(
    ("last", "now", "margin", "open_"),
    [(None, 100.0, 0.0, False), (0.0, 86_399.0, 0.0, True), (0.0, 86_400.0, 0.0, False),
     (0.0, 86_100.0, 300.0, False), (0.0, 86_099.0, 300.0, True)],
)  # fmt: skip
def test_the_window_is_24_hours_from_the_citizens_last_message_minus_a_margin(
    last: float | None, now: float, margin: float, open_: bool
) -> None:
    conv = replace(WITH_AGENT, last_citizen_at=last)
    assert decide.window_open(conv, now, margin) is open_


def test_the_citizens_message_is_marked_read_before_a_reply(policy: Policy) -> None:
    reading = replace(policy, read_receipts=True, typing=True)
    bot = ScriptedBot(BotTurn('{"node":"menu"}', (SendText("Menu"),)))
    d = decide.on_citizen(NEW, said("oi", 7), reading, bot)
    assert d.commands == (MarkRead("wamid.7", typing=True), SendText("Menu"))
    assert d.conversation.last_wamid == "wamid.7"
    silent = ScriptedBot(BotTurn(None))
    assert decide.on_citizen(NEW, said("oi", 8), reading, silent).commands == ()
    agent_reply = decide.on_room(
        replace(WITH_AGENT, last_wamid="wamid.7"), agent("Oi"), reading, None
    )
    assert agent_reply.commands[0] == MarkRead("wamid.7", typing=True)
    only_ticks = replace(policy, read_receipts=True, typing=False)
    assert decide.on_citizen(NEW, said("oi", 9), only_ticks, bot).commands[0] == MarkRead("wamid.9")
    assert decide.on_citizen(NEW, said("oi", 9), policy, bot).commands == (SendText("Menu"),)


def test_a_taken_chat_is_counted_and_announced_only_when_asked(policy: Policy) -> None:
    taken = RoomTaken(RoomId("r1"), "Ana Souza")
    quiet = decide.on_room(WITH_AGENT, taken, policy, None)
    assert quiet.commands == () and quiet.counters == (("room_taken", ""),)
    told = decide.on_room(WITH_AGENT, taken, replace(policy, announce_agent=True), None)
    assert told.commands == (SendText(policy.texts.agent_took.format(agent="Ana Souza")),)
