"""The flow bot behind the core port: inputs, commands, counters and the saved state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.botlink import FlowBot, load_flow_bot
from bridge.core.model import (
    CitizenMessage,
    Conversation,
    ConversationKey,
    Location,
    Media,
    OpenRoom,
    SendMenu,
    SendText,
    WaId,
    WaMessageId,
)

FLOW = Path(__file__).resolve().parents[1] / "config" / "flow.yaml"
TUESDAY_10H = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
KEY = ConversationKey("100", WaId("5511999990000"))


@pytest.fixture(scope="module")
def flow_bot() -> FlowBot:
    return load_flow_bot(FLOW, "Atendimento Geral", lambda: TUESDAY_10H)


def said(text: str = "", n: int = 0, **extra: object) -> CitizenMessage:
    return CitizenMessage(KEY, WaMessageId(f"wamid.{n}"), 0.0, "Maria", text, **extra)  # type: ignore[arg-type]


def talk(flow_bot: FlowBot, *lines: str) -> tuple[Conversation, list[object]]:
    conv = Conversation(1, KEY)
    everything: list[object] = []
    for n, line in enumerate(lines):
        turn = flow_bot.turn(conv, said(line, n))
        conv = Conversation(1, KEY, bot_state=turn.bot_state)
        everything.append(turn)
    return conv, everything


def test_a_new_contact_gets_a_menu_and_is_counted(flow_bot: FlowBot) -> None:
    turn = flow_bot.turn(Conversation(1, KEY), said("oi"))
    assert isinstance(turn.commands[0], SendText)
    menu = turn.commands[-1]
    assert isinstance(menu, SendMenu) and menu.reply["kind"] == "list"
    assert ("contact", "") in turn.counters and turn.handoff is None


def test_an_answer_counts_the_contact_as_resolved_once(flow_bot: FlowBot) -> None:
    _, turns = talk(flow_bot, "oi", "4", "1", "menu", "4", "2")
    counters = [c for t in turns for c in t.counters]  # type: ignore[attr-defined]
    assert counters.count(("contact_resolved", "")) == 1
    assert ("bot_answer", "horarios") in counters


def test_a_handoff_after_an_answer_is_counted_for_the_report(flow_bot: FlowBot) -> None:
    _, turns = talk(flow_bot, "oi", "4", "1", "atendente")
    last = turns[-1]
    assert isinstance(last.handoff, OpenRoom)  # type: ignore[attr-defined]
    assert ("contact_resolved_then_handoff", "") in last.counters  # type: ignore[attr-defined]
    assert last.handoff.department == "Atendimento Geral"  # type: ignore[attr-defined]
    assert last.handoff.offline == "leave_message"  # type: ignore[attr-defined]


def test_media_and_location_reach_the_engine(flow_bot: FlowBot) -> None:
    photo = Media("image", "media-1", "image/jpeg")
    conv, _ = talk(flow_bot, "oi", "2", "1", "Maria da Silva", "529.982.247-25", "pular", "Rua A")
    turn = flow_bot.turn(conv, said("", 9, media=photo))
    assert turn.handoff is not None
    assert turn.handoff.attachments == (photo,)
    assert turn.handoff.tags == ("iluminacao-publica",)
    location = Location(-23.5, -46.6, "Praça", None)
    assert flow_bot.turn(Conversation(1, KEY), said("", 1, location=location)).commands


def test_an_unreadable_saved_state_starts_a_fresh_contact(flow_bot: FlowBot) -> None:
    turn = flow_bot.turn(Conversation(1, KEY, bot_state="{not json"), said("oi"))
    assert ("contact", "") in turn.counters
