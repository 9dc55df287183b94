"""The loaded flow: frozen dataclasses the engine walks. Built by bot/flow.py from the
validated file, so every reference here is known to exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.actions import OfflinePolicy, Priority
from bot.hours import Hours
from bot.texts import fill

Display = Literal["auto", "buttons", "list", "text"]
KeywordMatch = Literal["exact", "start", "contains"]


@dataclass(frozen=True)
class MenuOption:
    key: str  # the option id, unique inside its menu; part of the button/row id
    title: str
    goto: str
    description: str | None = None
    synonyms: tuple[str, ...] = ()
    section: str | None = None


@dataclass(frozen=True)
class MessageNode:
    id: str
    text: str
    next: str


@dataclass(frozen=True)
class MenuNode:
    id: str
    text: str
    options: tuple[MenuOption, ...]
    header: str | None = None
    footer: str | None = None
    button: str | None = None
    display: Display = "auto"
    retry: str | None = None
    save_as: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class AnswerNode:
    id: str
    text: str
    next: str
    topic: str


@dataclass(frozen=True)
class AskNode:
    id: str
    text: str
    save_as: str
    next: str
    validation: str = "text"
    label: str | None = None
    retry: str | None = None
    max_tries: int | None = None
    on_fail: str | None = None
    skippable: bool = False
    max_length: int = 1000


@dataclass(frozen=True)
class Condition:
    open: str | None = None
    closed: str | None = None
    holiday: str | None = None
    answer: str | None = None
    equals: str | None = None
    one_of: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Case:
    when: Condition
    goto: str


@dataclass(frozen=True)
class BranchNode:
    id: str
    cases: tuple[Case, ...]
    default: str


@dataclass(frozen=True)
class HandoffNode:
    id: str
    department: str | None = None
    priority: Priority = "normal"
    tags: tuple[str, ...] = ()
    carry: tuple[str, ...] | None = None
    service: str | None = None
    text: str | None = None
    hours: str | None = None
    offline: OfflinePolicy = "tell_hours"
    offline_text: str | None = None
    offline_goto: str | None = None


@dataclass(frozen=True)
class EndNode:
    id: str
    text: str | None = None


@dataclass(frozen=True)
class ScoreOption:
    score: int
    title: str
    description: str | None = None
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveyNode:
    id: str
    text: str
    options: tuple[ScoreOption, ...]
    header: str | None = None
    footer: str | None = None
    button: str | None = None
    display: Display = "auto"
    comment: str | None = None
    thanks: str | None = None
    next: str | None = None


Node = (
    MessageNode | MenuNode | AnswerNode | AskNode | BranchNode | HandoffNode | EndNode | SurveyNode
)
NODE_KIND: Mapping[type, str] = {
    MessageNode: "message",
    MenuNode: "menu",
    AnswerNode: "answer",
    AskNode: "ask",
    BranchNode: "branch",
    HandoffNode: "handoff",
    EndNode: "end",
    SurveyNode: "survey",
}


@dataclass(frozen=True)
class Keyword:
    words: tuple[str, ...]
    goto: str
    match: KeywordMatch = "exact"


@dataclass(frozen=True)
class Department:
    name: str
    id: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class Settings:
    timezone: str = "America/Sao_Paulo"
    inactivity_minutes: int = 30
    survey_minutes: int = 24 * 60
    max_misses: int = 3
    misses_goto: str | None = None
    fuzzy_threshold: int = 85
    history: int = 10
    hours: str | None = None


@dataclass(frozen=True)
class Offline:
    closed: str
    no_agent: str
    tell_hours: str
    leave_message: str
    queue: str
    message_received: str

    def policy_text(self, policy: OfflinePolicy) -> str:
        return {
            "tell_hours": self.tell_hours,
            "leave_message": self.leave_message,
            "queue": self.queue,
        }[policy]


@dataclass(frozen=True)
class Transcript:
    title: str
    urgent: str
    service: str
    priority: str
    data: str
    history: str
    citizen: str
    bot: str
    offline_message: str
    attachment: str
    location: str
    media: Mapping[str, str]
    priorities: Mapping[str, str]


@dataclass(frozen=True)
class Messages:
    not_understood: str
    timeout: str
    list_button: str
    list_section: str
    more_options: str
    more_description: str
    yes: str
    no: str
    yes_words: tuple[str, ...]
    no_words: tuple[str, ...]
    skip_words: tuple[str, ...]
    not_informed: str
    invalid: Mapping[str, str]
    offline: Offline
    survey_retry: str
    survey_skip_words: tuple[str, ...]
    transcript: Transcript


@dataclass(frozen=True)
class AfterClose:
    text: str | None = None
    goto: str | None = None


@dataclass(frozen=True)
class Flow:
    """A validated flow. Use `load_flow` to get one."""

    start: str
    nodes: Mapping[str, Node]
    messages: Messages
    settings: Settings = field(default_factory=Settings)
    keywords: tuple[Keyword, ...] = ()
    hours: Mapping[str, Hours] = field(default_factory=dict)
    departments: Mapping[str, Department] = field(default_factory=dict)
    after_close: AfterClose = field(default_factory=AfterClose)
    labels: Mapping[str, str] = field(default_factory=dict)  # answer name -> human label
    name: str = ""
    warnings: tuple[str, ...] = ()

    def department(self, key: str | None) -> Department | None:
        """The department named `key`, or whose Rocket.Chat id is `key`."""
        if key is None:
            return None
        found = self.departments.get(key)
        return found or next((d for d in self.departments.values() if d.id == key), None)

    def hours_for(self, name: str | None) -> Hours | None:
        """The schedule called `name`, or the one of department `name`, or the default."""
        if name is not None and name in self.hours:
            return self.hours[name]
        department = self.department(name)
        key = department.hours if department and department.hours else self.settings.hours
        return self.hours.get(key) if key else None

    def is_open(self, name: str | None, now: datetime) -> bool:
        """Whether the flow's business hours for `name` (an hours name or a department
        name) are open at `now`. No schedule at all means always open."""
        hours = self.hours_for(name)
        return hours is None or hours.is_open(now)

    def offline_values(self, department: str | None) -> dict[str, str]:
        hours = self.hours_for(department)
        return {"hours": hours.description if hours else "", "department": department or ""}

    def no_agent_text(self, department: str | None, policy: OfflinePolicy = "tell_hours") -> str:
        """What to tell the citizen when Rocket.Chat says no agent is online."""
        offline = self.messages.offline
        text = offline.no_agent + "\n\n" + offline.policy_text(policy)
        return fill(text, self.offline_values(department))
