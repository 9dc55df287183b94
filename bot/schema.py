"""The flow FILE, as pydantic models: shape, types and unknown-field checks only.

`extra="forbid"` everywhere so a typo ("optoins", "mesage") stops start-up instead of being
silently ignored. Cross-references and WhatsApp limits are checked later (bot/checks.py)
on the frozen dataclasses built from these models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1)]
Validation = Literal[
    "text", "number", "cpf", "cep", "date", "phone", "email", "yesno", "file", "photo", "location"
]
Display = Literal["auto", "buttons", "list", "text"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class OptionModel(_Model):
    title: Text
    goto: Text
    id: Text | None = None
    description: Text | None = None
    synonyms: list[Text] = []
    section: Text | None = None


class MessageNode(_Model):
    type: Literal["message"]
    id: Text
    text: Text
    next: Text


class MenuNode(_Model):
    type: Literal["menu"]
    id: Text
    text: Text
    options: list[OptionModel] = Field(min_length=1)
    header: Text | None = None
    footer: Text | None = None
    button: Text | None = None
    display: Display = "auto"
    retry: Text | None = None
    save_as: Text | None = None
    label: Text | None = None


class AnswerNode(_Model):
    type: Literal["answer"]
    id: Text
    text: Text
    next: Text
    topic: Text | None = None


class AskNode(_Model):
    type: Literal["ask"]
    id: Text
    text: Text
    save_as: Text
    next: Text
    validate_: Validation = Field("text", alias="validate")
    label: Text | None = None
    retry: Text | None = None
    max_tries: int | None = Field(None, ge=1)
    on_fail: Text | None = None
    skippable: bool = False
    max_length: int = Field(1000, ge=1, le=4096)


class ConditionModel(_Model):
    open: Text | None = None
    closed: Text | None = None
    holiday: Text | None = None
    answer: Text | None = None
    equals: str | None = None
    one_of: list[str] | None = None


class CaseModel(_Model):
    when: ConditionModel = Field(alias="if")
    goto: Text


class BranchNode(_Model):
    type: Literal["branch"]
    id: Text
    cases: list[CaseModel] = Field(min_length=1)
    default: Text


class HandoffNode(_Model):
    type: Literal["handoff"]
    id: Text
    department: Text | None = None
    priority: Literal["urgent", "high", "normal", "low"] = "normal"
    tags: list[Text] = []
    carry: list[Text] | None = None
    service: Text | None = None
    text: Text | None = None
    hours: Text | None = None
    offline: Literal["tell_hours", "leave_message", "queue"] = "tell_hours"
    offline_text: Text | None = None
    offline_goto: Text | None = None


class EndNode(_Model):
    type: Literal["end"]
    id: Text
    text: Text | None = None


class ScoreModel(_Model):
    score: int = Field(ge=0, le=10)
    title: Text
    description: Text | None = None
    synonyms: list[Text] = []


class SurveyNode(_Model):
    type: Literal["survey"]
    id: Text
    text: Text
    options: list[ScoreModel] = Field(min_length=1)
    header: Text | None = None
    footer: Text | None = None
    button: Text | None = None
    display: Display = "auto"
    comment: Text | None = None
    thanks: Text | None = None
    next: Text | None = None


NodeModel = Annotated[
    MessageNode | MenuNode | AnswerNode | AskNode | BranchNode | HandoffNode | EndNode | SurveyNode,
    Field(discriminator="type"),
]
NODE_TYPES = ("message", "menu", "answer", "ask", "branch", "handoff", "end", "survey")


class KeywordModel(_Model):
    words: list[Text] = Field(min_length=1)
    goto: Text
    match: Literal["exact", "start", "contains"] = "exact"


class HoursModel(_Model):
    description: Text
    week: dict[str, list[str]]
    holidays: list[str] = []
    timezone: Text | None = None


class DepartmentModel(_Model):
    name: Text
    id: Text | None = None
    hours: Text | None = None


class SettingsModel(_Model):
    timezone: Text = "America/Sao_Paulo"
    inactivity_minutes: int = Field(30, ge=1)
    survey_minutes: int = Field(24 * 60, ge=1)
    max_misses: int = Field(3, ge=1)
    misses_goto: Text | None = None
    fuzzy_threshold: int = Field(85, ge=50, le=100)
    history: int = Field(10, ge=0, le=50)
    hours: Text | None = None


class InvalidModel(_Model):
    text: Text
    number: Text
    cpf: Text
    cep: Text
    date: Text
    phone: Text
    email: Text
    yesno: Text
    file: Text
    photo: Text
    location: Text


class OfflineModel(_Model):
    closed: Text
    no_agent: Text
    tell_hours: Text
    leave_message: Text
    queue: Text
    message_received: Text


class SurveyTextsModel(_Model):
    retry: Text
    skip_words: list[Text] = Field(min_length=1)


class TranscriptModel(_Model):
    title: Text
    urgent: Text
    service: Text
    priority: Text
    data: Text
    history: Text
    citizen: Text
    bot: Text
    offline_message: Text
    attachment: Text
    location: Text
    media: dict[Literal["image", "document", "audio", "video", "sticker"], Text]
    priorities: dict[Literal["urgent", "high", "normal", "low"], Text]


class MessagesModel(_Model):
    not_understood: Text
    timeout: Text
    list_button: Text
    list_section: Text
    more_options: Text
    more_description: Text
    yes: Text
    no: Text
    yes_words: list[Text] = Field(min_length=1)
    no_words: list[Text] = Field(min_length=1)
    skip_words: list[Text] = Field(min_length=1)
    not_informed: Text
    invalid: InvalidModel
    offline: OfflineModel
    survey: SurveyTextsModel
    transcript: TranscriptModel


class AfterCloseModel(_Model):
    text: Text | None = None
    goto: Text | None = None


class FlowModel(_Model):
    version: Literal[1] = 1
    name: str = ""
    start: Text
    settings: SettingsModel = SettingsModel()
    messages: MessagesModel
    keywords: list[KeywordModel] = []
    hours: dict[str, HoursModel] = {}
    departments: list[DepartmentModel] = []
    after_close: AfterCloseModel = AfterCloseModel()
    nodes: list[NodeModel] = Field(min_length=1)


def field_names() -> set[str]:
    """Every field name the file may use, to suggest one when a typo is rejected."""
    models: list[type[BaseModel]] = [
        FlowModel,
        SettingsModel,
        MessagesModel,
        InvalidModel,
        OfflineModel,
        SurveyTextsModel,
        TranscriptModel,
        AfterCloseModel,
        KeywordModel,
        HoursModel,
        DepartmentModel,
        OptionModel,
        MessageNode,
        MenuNode,
        AnswerNode,
        AskNode,
        ConditionModel,
        CaseModel,
        BranchNode,
        HandoffNode,
        EndNode,
        ScoreModel,
        SurveyNode,
    ]
    names: set[str] = set()
    for model in models:
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    return names
