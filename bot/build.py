"""From the validated file (pydantic models) to the frozen dataclasses the engine uses.

Problems only visible while assembling (duplicate ids, bad hours specs) are collected
and returned; everything else is checked afterwards in bot/checks.py and bot/fit.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot import schema as s
from bot.hours import Hours, parse_hours, zone_error
from bot.model import (
    AfterClose,
    AnswerNode,
    AskNode,
    BranchNode,
    Case,
    Condition,
    Department,
    EndNode,
    Flow,
    HandoffNode,
    Keyword,
    MenuNode,
    MenuOption,
    MessageNode,
    Messages,
    Node,
    Offline,
    ScoreOption,
    Settings,
    SurveyNode,
    Transcript,
)


def build(model: s.FlowModel) -> tuple[Flow, list[str]]:
    errors: list[str] = []
    nodes = _nodes(model.nodes, errors)
    settings = Settings(**model.settings.model_dump())
    problem = zone_error(settings.timezone)
    if problem:
        errors.append(f"settings, field 'timezone': {problem}")
    flow = Flow(
        start=model.start,
        nodes=nodes,
        messages=_messages(model.messages),
        settings=settings,
        keywords=tuple(Keyword(tuple(k.words), k.goto, k.match) for k in model.keywords),
        hours=_hours(model.hours, settings.timezone, errors),
        departments=_departments(model.departments, errors),
        after_close=AfterClose(model.after_close.text, model.after_close.goto),
        labels=_labels(nodes.values()),
        name=model.name,
    )
    return flow, errors


def _nodes(models: list[s.NodeModel], errors: list[str]) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    first: dict[str, int] = {}
    for index, model in enumerate(models):
        if model.id in first:
            errors.append(
                f"node '{model.id}', field 'id': duplicate id "
                f"(nodes[{index}] and nodes[{first[model.id]}])"
            )
            continue
        first[model.id] = index
        nodes[model.id] = _node(model)
    return nodes


def _node(m: s.NodeModel) -> Node:
    if isinstance(m, s.MessageNode):
        return MessageNode(m.id, m.text, m.next)
    if isinstance(m, s.MenuNode):
        return _menu(m)
    if isinstance(m, s.AnswerNode):
        return AnswerNode(m.id, m.text, m.next, m.topic or m.id)
    if isinstance(m, s.AskNode):
        return AskNode(
            m.id,
            m.text,
            m.save_as,
            m.next,
            m.validate_,
            m.label,
            m.retry,
            m.max_tries,
            m.on_fail,
            m.skippable,
            m.max_length,
        )
    if isinstance(m, s.BranchNode):
        return BranchNode(m.id, tuple(Case(_condition(c.when), c.goto) for c in m.cases), m.default)
    if isinstance(m, s.HandoffNode):
        return HandoffNode(
            m.id,
            m.department,
            m.priority,
            tuple(m.tags),
            None if m.carry is None else tuple(m.carry),
            m.service,
            m.text,
            m.hours,
            m.offline,
            m.offline_text,
            m.offline_goto,
        )
    if isinstance(m, s.EndNode):
        return EndNode(m.id, m.text)
    return _survey(m)


def _menu(m: s.MenuNode) -> MenuNode:
    options = tuple(
        MenuOption(o.id or o.goto, o.title, o.goto, o.description, tuple(o.synonyms), o.section)
        for o in m.options
    )
    return MenuNode(
        m.id, m.text, options, m.header, m.footer, m.button, m.display, m.retry, m.save_as, m.label
    )


def _survey(m: s.SurveyNode) -> SurveyNode:
    options = tuple(
        ScoreOption(o.score, o.title, o.description, tuple(o.synonyms)) for o in m.options
    )
    return SurveyNode(
        m.id, m.text, options, m.header, m.footer, m.button, m.display, m.comment, m.thanks, m.next
    )


def _condition(m: s.ConditionModel) -> Condition:
    one_of = None if m.one_of is None else tuple(m.one_of)
    return Condition(m.open, m.closed, m.holiday, m.answer, m.equals, one_of)


def _messages(m: s.MessagesModel) -> Messages:
    return Messages(
        not_understood=m.not_understood,
        timeout=m.timeout,
        list_button=m.list_button,
        list_section=m.list_section,
        more_options=m.more_options,
        more_description=m.more_description,
        yes=m.yes,
        no=m.no,
        yes_words=tuple(m.yes_words),
        no_words=tuple(m.no_words),
        skip_words=tuple(m.skip_words),
        not_informed=m.not_informed,
        invalid=m.invalid.model_dump(),
        offline=Offline(**m.offline.model_dump()),
        survey_retry=m.survey.retry,
        survey_skip_words=tuple(m.survey.skip_words),
        transcript=Transcript(**m.transcript.model_dump()),
    )


def _hours(models: dict[str, s.HoursModel], default_tz: str, errors: list[str]) -> dict[str, Hours]:
    hours: dict[str, Hours] = {}
    for name, m in models.items():
        parsed, problems = parse_hours(
            name, m.week, m.holidays, m.timezone or default_tz, m.description
        )
        errors += problems
        hours[name] = parsed  # kept even when broken, so references to it do not also fail
    return hours


def _departments(models: list[s.DepartmentModel], errors: list[str]) -> dict[str, Department]:
    departments: dict[str, Department] = {}
    for index, m in enumerate(models):
        if m.name in departments:
            errors.append(f"departments[{index}], field 'name': {m.name!r} is listed twice")
        departments[m.name] = Department(m.name, m.id, m.hours)
    return departments


def _labels(nodes: Iterable[Node]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for node in nodes:
        name = node.save_as if isinstance(node, AskNode | MenuNode) else None
        if name and isinstance(node, AskNode | MenuNode):
            labels.setdefault(name, node.label or name)
    return labels
