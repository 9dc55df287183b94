"""`python -m bot chat FILE`: talk to a flow in the terminal, as a citizen would.

Lines are read from stdin (so tests and scripts can pipe a conversation in). Replies are
drawn roughly as WhatsApp shows them; actions such as a handoff appear as bracketed
notes. Commands start with "/" (see /help); "#2" taps the second button or row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from bot.actions import (
    Action,
    ContactStarted,
    Ended,
    Handoff,
    OutOfHours,
    Resolved,
    SurveyAnswered,
    SurveyCommented,
)
from bot.engine import after_agent_closed, no_agent_online, step
from bot.inputs import Input, Location, Media
from bot.model import Flow
from bot.replies import ButtonsReply, ListReply, Reply, TextReply
from bot.state import State, Step

HELP = """commands:
  #N               tap the N-th button or row of the last menu (typing works too)
  /photo [text]    send a photo (with an optional caption)
  /file [name]     send a document
  /location [addr] share a location
  /wait MINUTES    move the clock forward (try the inactivity timeout)
  /close           the agent closes the room (closing message and survey)
  /noagent         Rocket.Chat answers that no agent is online
  /state           show the stored state as JSON
  /quit            leave"""
_BOT, _PAD = "bot › ", "      "


@dataclass
class Session:
    flow: Flow
    now: datetime
    out: TextIO
    state: State | None = None
    with_agent: bool = False
    taps: list[tuple[str, str]] = field(default_factory=list)  # (id, title) on screen

    def show(self, result: Step) -> None:
        self.state = result.state
        # A new contact (and the timeout that caused it) happened before the replies.
        self.out.write("".join(note(a) for a in result.actions if _early(a)))
        for reply in result.replies:
            self.out.write(draw(reply))
            self.taps = taps_of(reply) or self.taps
        self.out.write("".join(note(a) for a in result.actions if not _early(a)))
        if any(isinstance(a, Handoff) for a in result.actions):
            self.with_agent = True
            self.out.write(
                "[the conversation is now with people: /close ends it, "
                "/noagent simulates no agent online]\n"
            )
        elif self.state.phase != "handed_off":
            self.with_agent = False


def _early(action: Action) -> bool:
    return isinstance(action, ContactStarted) or (
        isinstance(action, Ended) and action.reason == "timeout"
    )


def run(flow: Flow, lines: Iterable[str], out: TextIO, now: datetime, echo: bool) -> int:
    session = Session(flow, now, out)
    when = now.strftime("%Y-%m-%d %H:%M (%A)")
    out.write(
        f"Talking to {flow.name or 'the flow'} at {when}, {flow.settings.timezone}. "
        "Type a message as a citizen would; /help lists commands.\n"
    )
    for raw in lines:
        line = raw.rstrip("\n")
        if echo:
            out.write(f"you › {line}\n")
        if line.strip() == "/quit":
            break
        handle_line(session, line.strip())
    return 0


def handle_line(session: Session, line: str) -> None:
    if not line:
        return
    command, _, rest = line.partition(" ")
    if command == "/wait":
        minutes = float(rest or 0) if rest.replace(".", "", 1).isdigit() else 0.0
        session.now += timedelta(minutes=minutes)
        session.out.write(f"[clock: {session.now:%Y-%m-%d %H:%M}]\n")
    elif command == "/close":
        session.show(after_agent_closed(session.flow, session.state, session.now))
    elif command == "/noagent":
        session.show(no_agent_online(session.flow, session.state, session.now))
    elif command == "/state":
        session.out.write((session.state or State()).to_json() + "\n")
    elif command.startswith("/") and command not in ("/photo", "/file", "/location"):
        session.out.write(HELP + "\n")
    elif session.with_agent:
        session.out.write("[relayed to the agent]\n")
    else:
        session.show(step(session.flow, session.state, citizen_input(session, line), session.now))


def citizen_input(session: Session, line: str) -> Input:
    command, _, rest = line.partition(" ")
    if command == "/photo":
        return Input(text=rest, media=Media("image", "photo-1", "image/jpeg", "foto.jpg"))
    if command == "/file":
        return Input(media=Media("document", "doc-1", "application/pdf", rest or "documento.pdf"))
    if command == "/location":
        return Input(location=Location(-23.550520, -46.633308, None, rest or None))
    if line.startswith("#") and line[1:].isdigit() and 0 < int(line[1:]) <= len(session.taps):
        tap_id, title = session.taps[int(line[1:]) - 1]
        return Input(text=title, choice_id=tap_id)
    return Input(text=line)


def taps_of(reply: Reply) -> list[tuple[str, str]]:
    if isinstance(reply, ButtonsReply):
        return [(b.id, b.title) for b in reply.buttons]
    if isinstance(reply, ListReply):
        return [(r.id, r.title) for s in reply.sections for r in s.rows]
    return []


def draw(reply: Reply) -> str:
    if isinstance(reply, TextReply):
        return _block([reply.text])
    lines = [f"*{reply.header}*"] if reply.header else []
    lines.append(reply.body)
    if reply.footer:
        lines.append(f"({reply.footer})")
    if isinstance(reply, ButtonsReply):
        lines.append("  ".join(f"[ {b.title} ]" for b in reply.buttons))
        return _block(lines)
    lines.append(f"☰ {reply.button}")
    number = 0
    for section in reply.sections:
        lines.append(f"  — {section.title} —")
        for row in section.rows:
            number += 1
            extra = f" · {row.description}" if row.description else ""
            lines.append(f"  #{number} {row.title}{extra}")
    return _block(lines)


def _block(parts: list[str]) -> str:
    text = "\n".join(parts).replace("\n", "\n" + _PAD)
    return f"{_BOT}{text}\n"


def note(action: Action) -> str:
    if isinstance(action, ContactStarted):
        return "[new contact]\n"
    if isinstance(action, Resolved):
        return f"[answered by the bot: {action.topic}]\n"
    if isinstance(action, SurveyAnswered):
        return f"[survey answered: {action.score}]\n"
    if isinstance(action, SurveyCommented):
        return f"[survey comment: {action.comment!r}]\n"
    if isinstance(action, Ended):
        where = f" at {action.node}" if action.node else ""
        return f"[conversation ended: {action.reason}{where}]\n"
    if isinstance(action, OutOfHours):
        return f"[out of hours: {action.department}]\n"
    return _handoff_note(action)


def _handoff_note(action: Handoff) -> str:
    parts = [
        f"handoff to {action.department or 'the default department'}",
        f"priority {action.priority}",
    ]
    if action.tags:
        parts.append("tags " + ", ".join(action.tags))
    if action.after_hours:
        parts.append("after hours: queue it")
    parts.append(f"if no agent: {action.offline}")
    files = "".join(
        f"  │ file {n}: {m.kind} {m.filename or m.ref}\n" for n, m in action.attachments.items()
    )
    body = "".join(f"  │ {line}\n" for line in action.transcript.splitlines())
    return f"[{' · '.join(parts)}]\n{body}{files}"
