"""Neutral replies: what the bot wants to say, with no wire format.

The bridge turns these into Cloud API bodies. The engine only builds replies that already
fit WhatsApp's limits (see bot/limits.py), so the bridge never has to cut anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextReply:
    """A plain text message (at most 4096 characters)."""

    text: str


@dataclass(frozen=True)
class Option:
    """One reply button: `id` comes back as the button reply id when tapped."""

    id: str
    title: str


@dataclass(frozen=True)
class ButtonsReply:
    """An interactive message with one to three reply buttons."""

    body: str
    buttons: tuple[Option, ...]
    header: str | None = None
    footer: str | None = None


@dataclass(frozen=True)
class Row:
    """One row of an interactive list: `id` comes back as the list reply id."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class Section:
    """A titled group of list rows."""

    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class ListReply:
    """An interactive list: a body, a button label that opens the list, and its rows."""

    body: str
    button: str
    sections: tuple[Section, ...]
    header: str | None = None
    footer: str | None = None


Reply = TextReply | ButtonsReply | ListReply


def reply_text(reply: Reply) -> str:
    """The words of a reply as a citizen reads them, for the transcript."""
    if isinstance(reply, TextReply):
        return reply.text
    if isinstance(reply, ButtonsReply):
        titles = [b.title for b in reply.buttons]
    else:
        titles = [row.title for s in reply.sections for row in s.rows]
    return reply.body + "\n" + " | ".join(f"[{t}]" for t in titles)
