"""What a delivery's result does to its outbox row and its conversation. Pure, like decide:
the outbox classifies an attempt, these functions say what to write, the store writes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from bridge.core import decide
from bridge.core.decide import Bot, Decision, Policy
from bridge.core.model import (
    Command,
    Conversation,
    OpenRoom,
    OutboundFailed,
    PostNotice,
    RelayToRoom,
    RoomId,
    SendFile,
    SendTemplate,
    SendText,
    State,
    VisitorToken,
    WaMessageId,
)
from bridge.core.storage import (
    Bury,
    Claim,
    Finish,
    Hold,
    Link,
    Pending,
    Reschedule,
    Settlement,
)


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 1.0
    cap: float = 300.0
    limit: int = 12
    no_agent_delay: float = 120.0

    def delay(self, attempts: int, hint: float | None, jitter: float) -> float:
        """Full jitter (`jitter` in [0, 1)) keeps a thousand rows that failed together from
        retrying together; the server's own hint is a floor."""
        upper = min(self.cap, self.base * 2.0**attempts)
        return max(self.base + (upper - self.base) * jitter, hint or 0.0)


@dataclass(frozen=True)
class Rules:
    policy: Policy
    bot: Bot | None
    retry: RetryPolicy


def delivered(
    claim: Claim, links: tuple[Link, ...], rules: Rules | None = None, file_refused: str = ""
) -> Settlement:
    """Done. A citizen's file that went to the room as text only (too large, a type
    Rocket.Chat refuses) is explained to the citizen, who would otherwise think it arrived."""
    told = rules.policy.texts.file_not_relayed if rules is not None and file_refused else ""
    if not told:
        return Settlement(claim, Finish(), links=links)

    def tell(conv: Conversation, _pending: Pending) -> Decision:
        return Decision(conv, (SendText(told),))

    counters = (("file_not_relayed", ""),)
    return Settlement(claim, Finish(), links=links, counters=counters, step=tell)


def room_opened(token: VisitorToken, room: RoomId) -> decide.Step:
    """Saved the moment Rocket.Chat answers, before the transcript is posted: a crash
    in between must not open a second room for the same citizen."""

    def step(conv: Conversation) -> Decision:
        opened = replace(conv, visitor_token=token, room_id=room, state=State.AGENT)
        return Decision(opened, counters=(("room_opened", conv.department),))

    return step


def retry_later(
    claim: Claim, reason: str, hint: float | None, rules: Rules, jitter: float
) -> Settlement:
    attempts = claim.row.attempts + 1
    if attempts >= rules.retry.limit:
        return buried(claim, attempts, reason, rules)
    delay = rules.retry.delay(attempts, hint, jitter)
    return Settlement(claim, Reschedule(delay, attempts, reason))


def rate_limited(
    claim: Claim, reason: str, after: float | None, *, age: float, rules: Rules, jitter: float
) -> Settlement:
    """The server scheduled a wait: honour it without spending the retry budget, spread
    over `base` seconds so the rows that waited together do not all return at the reset.
    Graph's throttling codes come without Retry-After (contract §7.2: "backoff"): the
    longer the row has waited, the longer it waits, so an hourly quota is not hammered."""
    retry = rules.retry
    wait = after if after is not None else min(retry.cap, max(0.0, age))
    delay = max(wait, retry.base) + retry.base * jitter
    return Settlement(claim, Reschedule(delay, claim.row.attempts, reason))


def buried(claim: Claim, attempts: int, reason: str, rules: Rules) -> Settlement:
    """Dead letter. An agent's words that never reached the citizen are reported in the
    room (DESIGN §2.2), whatever gave up on them (retries spent in a long Graph outage, a
    refusal without a code). A room request that dies gives the conversation back to the
    bot and tells the citizen, so nothing waits for a room nobody is asking for."""
    command = claim.row.command
    counters = (("dead_letter", claim.row.destination.value),)
    if _from_an_agent(command):
        text = rules.policy.texts.not_delivered_notice.format(code="-", reason=reason)

        def report(conv: Conversation, _pending: Pending) -> Decision:
            return Decision(conv, _notice(conv, text))

        return Settlement(claim, Bury(attempts, reason), counters=counters, step=report)
    if not isinstance(command, OpenRoom):
        return Settlement(claim, Bury(attempts, reason), counters=counters)
    tell = rules.policy.texts.handoff_failed

    def step(conv: Conversation, _pending: Pending) -> Decision:
        return decide.on_room_request_dead(conv, tell)

    return Settlement(claim, Bury(attempts, reason), counters=counters, step=step)


def gave_up(claim: Claim, reason: str, code: int | None, rules: Rules) -> Settlement:
    """A permanent refusal. An agent's words that never reached the citizen, or a template
    Meta would not send, are reported in the room."""
    command = claim.row.command
    if isinstance(command, SendFile):
        return file_refused(claim, command, reason, rules)
    settlement = buried(claim, claim.row.attempts + 1, reason, rules)
    if isinstance(command, SendTemplate):
        text = rules.policy.texts.template_failed_notice.format(
            template=command.name, code=code if code is not None else "-", reason=reason
        )
        return replace(settlement, step=lambda conv, _p: Decision(conv, _notice(conv, text)))
    if not isinstance(command, SendText | SendFile) or code is None:
        return settlement
    event = OutboundFailed(WaMessageId(f"outbox-{claim.row.id}"), code, reason)
    policy = rules.policy

    def step(conv: Conversation, _pending: Pending) -> Decision:
        return decide.on_outbound_failed(conv, event, policy)

    return replace(settlement, step=step)


def _from_an_agent(command: Command) -> bool:
    """An agent's reply (a text relayed from a room, or an agent's file), not the bot's."""
    return isinstance(command, SendFile) or (isinstance(command, SendText) and bool(command.origin))


def file_refused(claim: Claim, command: SendFile, reason: str, rules: Rules) -> Settlement:
    """An agent's file that cannot reach the citizen (too large, a type WhatsApp refuses, a
    link to another host...): not a dead letter but a clear notice in the room, and a
    polite word to the citizen, who otherwise would wait for it."""
    texts = rules.policy.texts
    notice = texts.unsupported_file_notice.format(name=command.name, reason=reason)
    told = texts.file_not_delivered.format(name=command.name)

    def step(conv: Conversation, _pending: Pending) -> Decision:
        citizen = (SendText(told),) if told else ()
        return Decision(conv, (*_notice(conv, notice), *citizen))

    return Settlement(claim, Finish(), counters=(("file_refused", ""),), step=step)


def window_closed(claim: Claim, rules: Rules, now: float) -> Settlement:
    """More than 24 h since the citizen last wrote: free text would be refused (131047).
    An agent's message is held, in order, until the citizen writes; the first one held
    sends the re-engagement template (if one is configured) and the agent is told at once.
    What the bot or the bridge would say then (a closing message, the survey) is dropped."""
    command = claim.row.command
    if not (isinstance(command, SendText | SendFile) and command.origin):
        kind = type(command).__name__
        return Settlement(claim, Finish(), counters=(("window_dropped", kind),))
    policy = rules.policy

    def step(conv: Conversation, _pending: Pending) -> Decision:
        if decide.window_open(conv, now, policy.window_margin):
            return Decision(conv, release_held=True)  # the citizen wrote meanwhile
        if conv.held_since is not None:
            return Decision(conv)  # told already; the template is on its way
        return _reengage(replace(conv, held_since=now), command.agent, policy)

    return Settlement(claim, Hold(), step=step)


def _reengage(conv: Conversation, agent: str, policy: Policy) -> Decision:
    texts, template = policy.texts, policy.template
    if template is None:
        notice = _notice(conv, texts.window_waiting_notice)
        return Decision(conv, notice, (("window_held", ""),))
    send = SendTemplate(template.name, template.language, template.fill(conv.profile_name, agent))
    notice = _notice(conv, texts.window_template_notice.format(template=template.name))
    return Decision(conv, (send, *notice), (("window_template", ""),))


def _notice(conv: Conversation, text: str) -> tuple[PostNotice, ...]:
    """A notice for the agent, when there is a room to post it in and something to say."""
    return (PostNotice(text),) if text and conv.room_id is not None else ()


def no_agent(claim: Claim, rules: Rules) -> Settlement:
    """Rocket.Chat has nobody online for a room request."""
    command = claim.row.command
    assert isinstance(command, OpenRoom)
    bot, policy = rules.bot, rules.policy
    if bot is not None and decide.gives_back(command):
        # The bot tells the citizen and keeps the conversation; messages queued behind
        # the request bounce back to it.
        def give_back(conv: Conversation, _pending: Pending) -> Decision:
            if conv.state is not State.WAITING:
                return Decision(conv)
            return decide.on_no_agent_bot(conv, command, bot, policy)

        return Settlement(claim, Finish(), step=give_back)
    updated, tell = decide.on_no_agent(command, policy)
    # 'queue': once the citizen is told, open the room at once and let it wait there.
    queue_now = updated.offline == "queue" and bool(tell)
    delay = 0.0 if queue_now else rules.retry.no_agent_delay
    change = Reschedule(delay, claim.row.attempts, "no-agent-online", updated)
    if not tell:
        return Settlement(claim, change)

    def told(conv: Conversation, _pending: Pending) -> Decision:
        return Decision(conv, tell)

    counters = (("no_agent_online", command.department),)
    return Settlement(claim, change, counters=counters, step=told)


def bounced(claim: Claim, rules: Rules) -> Settlement:
    """The room is gone under a relay (closed by an agent whose webhook we missed, the
    visitor removed): the message starts a new contact (issue #2 §6). Notices and files
    for a closed room are dropped; a room request that finds no room gives up."""
    command = claim.row.command
    if isinstance(command, OpenRoom):
        return Settlement(claim, Finish(), step=lambda conv, _p: decide.on_room_request_dead(conv))
    if not isinstance(command, RelayToRoom):
        return Settlement(claim, Finish())
    message, policy, bot = command.message, rules.policy, rules.bot

    def step(conv: Conversation, pending: Pending) -> Decision:
        first = Decision(conv)
        if conv.state is State.WAITING and not pending.room_request:
            # Waiting for a room nobody is asking for any more: never wait behind it.
            first = decide.on_room_request_dead(conv)
        bounced = decide.on_bounce(first.conversation, message, policy, bot, time.time())
        return decide.chain(first, bounced)

    return Settlement(claim, Finish(), step=step)
