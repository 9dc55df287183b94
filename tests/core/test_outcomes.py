"""What a delivery's result writes, as tables: (claim, result) -> settlement."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bridge.core import outcomes
from bridge.core.decide import BotTurn, Policy, Template
from bridge.core.model import (
    CitizenMessage,
    Conversation,
    ConversationKey,
    Destination,
    OpenRoom,
    PostNotice,
    RelayToRoom,
    RoomId,
    SendFile,
    SendTemplate,
    SendText,
    State,
    VisitorToken,
    WaId,
    WaMessageId,
)
from bridge.core.outcomes import RetryPolicy, Rules
from bridge.core.storage import Bury, Claim, Finish, Hold, Link, OutboxRow, Pending, Reschedule

KEY = ConversationKey("1122334455667", WaId("5511912345678"))
WAITING = Conversation(id=7, key=KEY, state=State.WAITING, department="Atendimento")
WITH_AGENT = replace(
    WAITING, state=State.AGENT, room_id=RoomId("r1"), visitor_token=VisitorToken("t")
)
RETRY = RetryPolicy(base=1.0, cap=300.0, limit=3, no_agent_delay=120.0)
MSG = CitizenMessage(KEY, WaMessageId("wamid.9"), 1.0, "Maria", "oi")


class Bot:
    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn:
        return BotTurn("menu", (SendText("menu"),))

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        return BotTurn(None)

    def no_agent(self, conversation: Conversation) -> BotTurn:
        return BotTurn("hours", (SendText("Atendemos das 8h às 17h"),))


def claim(command: object, attempts: int = 0, conv: Conversation = WITH_AGENT) -> Claim:
    destination = command.destination  # type: ignore[attr-defined]
    row = OutboxRow(11, conv.id, destination, command, attempts, 1000.0)  # type: ignore[arg-type]
    return Claim(row, conv, "me/1")


@pytest.fixture
def rules(policy: Policy) -> Rules:
    return Rules(policy, None, RETRY)


def test_delivered_finishes_the_row_with_its_links(rules: Rules) -> None:
    link = Link("wamid.out", "rc-1", "out")
    s = outcomes.delivered(claim(SendText("oi")), (link,))
    assert (s.change, s.links, s.step) == (Finish(), (link,), None)


def test_a_retry_spends_budget_and_waits_at_least_the_servers_hint(rules: Rules) -> None:
    s = outcomes.retry_later(claim(SendText("oi"), attempts=1), "HTTP 503", 30.0, rules, 0.0)
    assert s.change == Reschedule(30.0, 2, "HTTP 503")


@pytest.mark.parametrize(("jitter", "delay"), [(0.0, 1.0), (0.5, 2.5), (0.999, 3.997)])
def test_retry_delay_is_full_jitter_within_the_exponential_bound(
    rules: Rules, jitter: float, delay: float
) -> None:
    s = outcomes.retry_later(claim(SendText("oi"), attempts=1), "x", None, rules, jitter)
    assert isinstance(s.change, Reschedule) and s.change.delay == pytest.approx(delay)


def test_the_last_retry_buries_the_row_as_a_dead_letter(rules: Rules) -> None:
    s = outcomes.retry_later(claim(SendText("oi"), attempts=2), "HTTP 503", None, rules, 0.5)
    assert s.change == Bury(3, "HTTP 503")
    assert s.counters == (("dead_letter", "whatsapp"),) and s.step is None


@pytest.mark.parametrize(
    "command",
    [
        SendText("*Ana*: seu protocolo é 123", origin="rc-1", agent="Ana"),
        SendFile("/file-upload/f/a.pdf", "a.pdf", "application/pdf", None, "rc-2", room="r1"),
    ],
)
def test_an_agents_reply_that_dies_is_reported_in_the_room(rules: Rules, command: object) -> None:
    """Retries spent in a long Graph outage (code 2), or a refusal without a code from a
    proxy: the agent must know the citizen never got it (DESIGN §2.2)."""
    spent = outcomes.retry_later(claim(command, attempts=2), "(2) Service unavailable", None,
                                 rules, 0.5)  # fmt: skip
    no_code = outcomes.gave_up(claim(command), "HTTP 401", None, rules)
    for s in (spent, no_code) if isinstance(command, SendText) else (spent,):
        assert isinstance(s.change, Bury) and s.step is not None
        [notice] = s.step(WITH_AGENT, Pending(False)).commands
        assert isinstance(notice, PostNotice) and "NÃO foi entregue" in notice.text
        assert s.change.error in notice.text


def test_a_dead_room_request_gives_the_conversation_back_and_tells_the_citizen(
    rules: Rules,
) -> None:
    s = outcomes.retry_later(claim(OpenRoom("Atendimento", "t"), 2, WAITING), "x", None, rules, 0)
    assert isinstance(s.change, Bury) and s.step is not None
    d = s.step(WAITING, Pending(room_request=False))
    assert d.conversation.state is State.BOT
    assert d.commands == (SendText(rules.policy.texts.handoff_failed),)


def test_a_rate_limit_waits_without_spending_the_budget(rules: Rules) -> None:
    c = claim(SendText("oi"), attempts=2)
    s = outcomes.rate_limited(c, "rate limited", 12.0, age=5.0, rules=rules, jitter=0.5)
    assert s.change == Reschedule(12.5, 2, "rate limited")
    without_hint = outcomes.rate_limited(c, "130429", None, age=90.0, rules=rules, jitter=0.0)
    assert isinstance(without_hint.change, Reschedule) and without_hint.change.delay == 90.0


def test_an_agent_reply_refused_for_good_becomes_a_notice_in_the_room(rules: Rules) -> None:
    c = claim(SendText("x", origin="rc-1"))
    s = outcomes.gave_up(c, "HTTP 400: (131026) undeliverable", 131026, rules)
    assert s.change == Bury(1, "HTTP 400: (131026) undeliverable") and s.step is not None
    (notice,) = s.step(WITH_AGENT, Pending(False)).commands
    assert isinstance(notice, PostNotice) and "131026" in notice.text


def test_an_agent_file_that_cannot_go_is_explained_on_both_sides_not_buried(
    rules: Rules,
) -> None:
    c = claim(SendFile("u", "planta.dwg", "application/acad", None, "rc-2"))
    s = outcomes.gave_up(c, "(131053) Media upload error", 131053, rules)
    assert s.change == Finish() and s.counters == (("file_refused", ""),)
    assert s.step is not None
    notice, told = s.step(WITH_AGENT, Pending(False)).commands
    assert isinstance(notice, PostNotice) and "planta.dwg" in notice.text
    assert "131053" in notice.text
    assert isinstance(told, SendText) and "planta.dwg" in told.text


def test_a_citizen_file_sent_as_text_only_is_explained_to_the_citizen(rules: Rules) -> None:
    c = claim(RelayToRoom(MSG))
    plain = outcomes.delivered(c, (), rules, "")
    assert plain.step is None
    s = outcomes.delivered(c, (), rules, "too large")
    assert s.step is not None
    (told,) = s.step(WITH_AGENT, Pending(False)).commands
    assert told == SendText(rules.policy.texts.file_not_relayed)


def test_a_bot_message_refused_for_good_is_only_buried(rules: Rules) -> None:
    s = outcomes.gave_up(claim(SendText("menu")), "HTTP 400", None, rules)
    assert isinstance(s.change, Bury) and s.step is None


def test_no_agent_with_a_queueing_policy_tells_once_then_waits(rules: Rules) -> None:
    request = OpenRoom("Atendimento", "t", offline="wait")
    s = outcomes.no_agent(claim(request, conv=WAITING), rules)
    assert s.change == Reschedule(120.0, 0, "no-agent-online", replace(request, told_no_agent=True))
    assert s.step is not None
    assert s.step(WAITING, Pending(True)).commands == (
        SendText(rules.policy.texts.no_agent_online),
    )
    told = outcomes.no_agent(claim(replace(request, told_no_agent=True), conv=WAITING), rules)
    assert told.step is None and isinstance(told.change, Reschedule)


def test_no_agent_with_queue_opens_the_room_at_once_once_told(rules: Rules) -> None:
    s = outcomes.no_agent(claim(OpenRoom("A", "t", offline="queue"), conv=WAITING), rules)
    assert isinstance(s.change, Reschedule) and s.change.delay == 0.0


def test_no_agent_when_the_flow_tells_the_hours_gives_the_conversation_back(
    policy: Policy,
) -> None:
    rules = Rules(policy, Bot(), RETRY)
    s = outcomes.no_agent(claim(OpenRoom("A", "t", offline="tell_hours"), conv=WAITING), rules)
    assert s.change == Finish() and s.step is not None
    d = s.step(WAITING, Pending(False))
    assert d.conversation.state is State.BOT
    assert d.commands == (SendText("Atendemos das 8h às 17h"),)
    assert ("handoff_refused", "A") in d.counters
    assert s.step(WITH_AGENT, Pending(False)).conversation == WITH_AGENT  # already moved on


def test_a_bounced_relay_waits_behind_a_pending_room_request(rules: Rules) -> None:
    s = outcomes.bounced(claim(RelayToRoom(MSG), conv=WAITING), rules)
    assert s.change == Finish() and s.step is not None
    d = s.step(WAITING, Pending(room_request=True))
    assert d.commands == (RelayToRoom(MSG),) and d.conversation.state is State.WAITING


def test_a_bounced_relay_never_waits_for_a_room_nobody_asks_for(rules: Rules) -> None:
    s = outcomes.bounced(claim(RelayToRoom(MSG), conv=WAITING), rules)
    assert s.step is not None
    d = s.step(WAITING, Pending(room_request=False))
    kinds = [type(c).__name__ for c in d.commands]
    assert kinds == ["OpenRoom", "RelayToRoom"]  # no bot: a new contact goes to a person
    assert ("handoff_failed", "") in d.counters


def test_a_bounced_relay_in_a_closed_room_starts_a_new_contact(policy: Policy) -> None:
    rules = Rules(policy, Bot(), RETRY)
    s = outcomes.bounced(claim(RelayToRoom(MSG)), rules)
    assert s.step is not None
    d = s.step(WITH_AGENT, Pending(False))
    assert d.conversation.state is State.BOT and d.conversation.room_id is None
    assert d.commands == (SendText("menu"),)


@pytest.mark.parametrize("command", [PostNotice("x"), SendFile("u", "a", "m", None, "o")])
def test_notices_and_files_for_a_closed_room_are_dropped(rules: Rules, command: object) -> None:
    s = outcomes.bounced(claim(command), rules)
    assert (s.change, s.step) == (Finish(), None)


def test_a_room_request_that_finds_no_room_gives_up(rules: Rules) -> None:
    s = outcomes.bounced(claim(OpenRoom("A", "t"), conv=WAITING), rules)
    assert s.change == Finish() and s.step is not None
    assert s.step(WAITING, Pending(False)).conversation.state is State.BOT


def test_room_opened_saves_the_room_and_counts_it() -> None:
    d = outcomes.room_opened(VisitorToken("tok"), RoomId("r9"))(WAITING)
    assert (d.conversation.state, d.conversation.room_id, d.conversation.visitor_token) == (
        State.AGENT,
        "r9",
        "tok",
    )
    assert d.counters == (("room_opened", "Atendimento"),)
    assert Destination.WHATSAPP.value == "whatsapp"


# --- the 24-hour window ----------------------------------------------------------------

NOW = 2_000_000_000.0
LATE = replace(WITH_AGENT, profile_name="Maria", last_citizen_at=NOW - 25 * 3600)


def late_reply() -> Claim:
    return claim(SendText("*Ana*: oi", origin="rc-1", agent="Ana"), conv=LATE)


def test_a_late_agent_reply_is_held_and_the_template_sent_once(policy: Policy) -> None:
    template = Template("retomar", "pt_BR", ("{name}", "{agent}"))
    rules = Rules(replace(policy, template=template), None, RETRY)
    s = outcomes.window_closed(late_reply(), rules, NOW)
    assert s.change == Hold() and s.step is not None
    d = s.step(LATE, Pending(False))
    send, notice = d.commands
    assert send == SendTemplate("retomar", "pt_BR", ("Maria", "Ana"))
    assert isinstance(notice, PostNotice) and "retomar" in notice.text
    assert d.conversation.held_since == NOW and ("window_template", "") in d.counters
    again = s.step(d.conversation, Pending(False))  # a second reply while waiting
    assert again.commands == () and not again.release_held


def test_without_a_template_the_agent_is_told_the_reply_waits(rules: Rules) -> None:
    s = outcomes.window_closed(late_reply(), rules, NOW)
    assert s.step is not None
    (notice,) = s.step(LATE, Pending(False)).commands
    assert notice == PostNotice(rules.policy.texts.window_waiting_notice)


def test_a_reply_held_just_as_the_citizen_wrote_goes_back_at_once(rules: Rules) -> None:
    s = outcomes.window_closed(late_reply(), rules, NOW)
    assert s.step is not None
    wrote = replace(LATE, last_citizen_at=NOW - 1)
    d = s.step(wrote, Pending(False))
    assert d.release_held and d.commands == ()


def test_what_the_bot_would_say_outside_the_window_is_dropped(rules: Rules) -> None:
    s = outcomes.window_closed(claim(SendText("Obrigado!"), conv=LATE), rules, NOW)
    assert (s.change, s.step) == (Finish(), None)
    assert s.counters == (("window_dropped", "SendText"),)


def test_a_refused_template_becomes_a_notice(rules: Rules) -> None:
    c = claim(SendTemplate("retomar", "pt_BR"), conv=LATE)
    s = outcomes.gave_up(c, "(132001) template name does not exist", 132001, rules)
    assert isinstance(s.change, Bury) and s.step is not None
    (notice,) = s.step(LATE, Pending(False)).commands
    assert isinstance(notice, PostNotice) and "132001" in notice.text and "retomar" in notice.text
