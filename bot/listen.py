"""Understanding the citizen's message at the node where the bot is waiting."""

from __future__ import annotations

from bot.actions import ContactStarted, Ended, SurveyAnswered, SurveyCommented
from bot.handoff import hand_off, offline_values
from bot.inputs import Input
from bot.matching import Choice, by_id, normalize, one_of, pick, pick_exactly
from bot.model import AskNode, Flow, HandoffNode, MenuNode, MenuOption, SurveyNode
from bot.render import MORE, next_offset, render_menu
from bot.state import State
from bot.transcript import OFFLINE_MESSAGE
from bot.turn import Turn
from bot.validators import Valid, check
from bot.walk import enter, prompt


def handle(turn: Turn, inp: Input) -> None:
    """Act on `inp` given the current node and phase (the state is a live one)."""
    node = turn.flow.nodes[turn.state.node or turn.flow.start]
    stale = stale_choice(turn.flow, node.id, inp.choice_id)
    if turn.state.phase == "leave_message" and isinstance(node, HandoffNode):
        leave_message(turn, node, inp)
    elif turn.state.phase == "comment" and isinstance(node, SurveyNode):
        survey_comment(turn, node, inp)
    elif stale is not None:
        choose(turn, stale[0], stale[1])
    elif isinstance(node, MenuNode):
        menu(turn, node, inp)
    elif isinstance(node, AskNode):
        ask(turn, node, inp)
    elif isinstance(node, SurveyNode):
        survey(turn, node, inp)
    else:  # a node that never waits: only reachable with a state from an older flow
        enter(turn, turn.flow.start)


def menu_choices(node: MenuNode) -> list[Choice]:
    return [Choice(o.key, i + 1, o.title, o.synonyms) for i, o in enumerate(node.options)]


def survey_choices(node: SurveyNode) -> list[Choice]:
    return [Choice(str(o.score), o.score, o.title, o.synonyms) for o in node.options]


def stale_choice(
    flow: Flow, current: str, choice_id: str | None
) -> tuple[MenuNode, MenuOption] | None:
    """A tap on a button of an earlier menu still means that option."""
    if not choice_id or choice_id.startswith(current + ":"):
        return None
    node_id, _, key = choice_id.partition(":")
    node = flow.nodes.get(node_id)
    if not isinstance(node, MenuNode):
        return None
    return next(((node, o) for o in node.options if o.key == key), None)


def menu(turn: Turn, node: MenuNode, inp: Input) -> None:
    messages = turn.flow.messages
    if inp.choice_id and inp.choice_id.startswith(f"{node.id}:{MORE}:"):
        offset = int(inp.choice_id.rpartition(":")[2] or 0)
        return show_page(turn, node, offset % max(len(node.options), 1))
    if inp.choice_id is None and one_of(inp.text, (messages.more_options,)):
        return show_page(turn, node, next_offset(len(node.options), turn.state.offset))
    choices = menu_choices(node)
    found = by_id(inp.choice_id, node.id, choices)
    found = found or pick(inp.text, choices, turn.flow.settings.fuzzy_threshold)
    if found is None:
        return miss(turn, node)
    choose(turn, node, node.options[found.number - 1])


def show_page(turn: Turn, node: MenuNode, offset: int) -> None:
    turn.update(offset=offset)
    turn.say(render_menu(node, turn.fill(node.text), turn.flow.messages, offset))


def choose(turn: Turn, node: MenuNode, option: MenuOption) -> None:
    answers = dict(turn.state.answers)
    if node.save_as:
        answers[node.save_as] = option.title
    turn.update(answers=answers, choices=(*turn.state.choices, option.title)[-5:])
    enter(turn, option.goto)


def ask(turn: Turn, node: AskNode, inp: Input) -> None:
    messages = turn.flow.messages
    if node.skippable and one_of(inp.text, messages.skip_words):
        valid: Valid | None = Valid(messages.not_informed)
    else:
        valid = check(node.validation, inp, node.id, messages, node.max_length)
    if valid is None:
        return miss(turn, node)
    store(turn, node.save_as, valid)
    enter(turn, node.next)


def store(turn: Turn, name: str, valid: Valid) -> None:
    answers = {**turn.state.answers, name: valid.value}
    files = {k: v for k, v in turn.state.files.items() if k != name}
    if valid.media is not None:
        files[name] = valid.media
    turn.update(answers=answers, files=files)


def miss(turn: Turn, node: MenuNode | AskNode) -> None:
    """An answer the bot could not use: ask again, or after too many tries offer help."""
    settings = turn.flow.settings
    misses = turn.state.misses + 1
    limit = node.max_tries if isinstance(node, AskNode) and node.max_tries else settings.max_misses
    fallback = node.on_fail if isinstance(node, AskNode) and node.on_fail else settings.misses_goto
    if misses >= limit and fallback and fallback != node.id:
        return enter(turn, fallback)
    turn.update(misses=misses)
    messages = turn.flow.messages
    if isinstance(node, MenuNode):
        body = turn.fill(node.retry or messages.not_understood)
        turn.say(render_menu(node, body, messages, turn.state.offset))
    else:
        prompt(turn, node, node.retry or messages.invalid[node.validation])


def survey(turn: Turn, node: SurveyNode, inp: Input) -> None:
    choices = survey_choices(node)
    found = by_id(inp.choice_id, node.id, choices)
    found = found or pick_exactly(inp.text, choices)
    if found is None:
        return survey_miss(turn, node)
    turn.emit(SurveyAnswered(found.number))
    if node.comment:
        turn.text(node.comment)
        turn.update(phase="comment", survey_score=None, misses=0)
        return None
    survey_done(turn, node)


def survey_miss(turn: Turn, node: SurveyNode) -> None:
    # A citizen who ignores the survey twice probably has a new question: start over.
    if turn.state.misses >= 1:
        turn.state = State(history=turn.state.history)
        turn.emit(ContactStarted())
        return enter(turn, turn.flow.start)
    turn.update(misses=1)
    turn.say(render_menu(node, turn.flow.messages.survey_retry, turn.flow.messages))


def survey_comment(turn: Turn, node: SurveyNode, inp: Input) -> None:
    text = inp.text.strip()
    skipped = not normalize(text) or one_of(text, turn.flow.messages.survey_skip_words)
    end_survey(turn)
    if not skipped:
        turn.emit(SurveyCommented(text[:1000]))
    survey_done(turn, node)


def end_survey(turn: Turn) -> None:
    """Stop waiting for a survey comment. Its score was recorded when given; a state saved
    by an earlier release still holds one that never was (`survey_score`): recorded now."""
    if turn.state.phase == "comment":
        if turn.state.survey_score is not None:
            turn.emit(SurveyAnswered(turn.state.survey_score))
        turn.update(survey_score=None, phase="")


def survey_done(turn: Turn, node: SurveyNode) -> None:
    if node.thanks:
        turn.text(node.thanks)
    if node.next:
        return enter(turn, node.next)
    turn.emit(Ended("end", node.id))
    turn.update(node=None, phase="")


def leave_message(turn: Turn, node: HandoffNode, inp: Input) -> None:
    """Out of hours: whatever the citizen writes now goes to the department's queue."""
    valid = check("file", inp, node.id, turn.flow.messages, 0) if inp.media else None
    valid = valid or check("location", inp, node.id, turn.flow.messages, 0)
    text = inp.text.strip() or inp.shown.strip()  # a contact card is a message too
    if text:
        valid = Valid(text, valid.media if valid else None)
    if valid is None:
        turn.text(turn.flow.messages.offline.leave_message, offline_values(turn.flow, node))
        return None
    store(turn, OFFLINE_MESSAGE, valid)
    turn.text(turn.flow.messages.offline.message_received)
    hand_off(turn, node, after_hours=True)
    return None
