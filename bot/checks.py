"""Cross-checks of a built flow: references, names, loops, placeholders, ambiguity.

Each error names the node (or section) and the field, and suggests the closest known
name when it looks like a typo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.edges import edges, node_edges
from bot.errors import suggest
from bot.matching import normalize
from bot.model import (
    AnswerNode,
    AskNode,
    BranchNode,
    EndNode,
    Flow,
    HandoffNode,
    MenuNode,
    MessageNode,
    Node,
    SurveyNode,
)
from bot.texts import BUILTINS, placeholders
from bot.transcript import OFFLINE_MESSAGE

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AUTOMATIC = (MessageNode, AnswerNode, BranchNode)


def check(flow: Flow) -> list[str]:
    return [
        *_references(flow),
        *_names(flow),
        *_hours_refs(flow),
        *_answer_refs(flow),
        *_departments(flow),
        *_conditions(flow),
        *_options(flow),
        *_keywords(flow),
        *_placeholders(flow),
        *_loops(flow),
    ]


def warnings(flow: Flow) -> list[str]:
    """Not fatal, but probably a mistake."""
    reached = _reachable(flow)
    found = [
        f"node '{n}': never reached from start, keywords, settings or after_close"
        for n in flow.nodes
        if n not in reached
    ]
    for node in flow.nodes.values():
        if (
            isinstance(node, MenuNode)
            and node.display == "buttons"
            and any(o.description for o in node.options)
        ):
            found.append(f"node '{node.id}', field 'display': buttons do not show descriptions")
    return found


def _references(flow: Flow) -> Iterator[str]:
    for edge in edges(flow):
        if edge.target not in flow.nodes:
            hint = suggest(edge.target, list(flow.nodes))
            yield f"{edge.where}, field '{edge.field}': no node named {edge.target!r}{hint}"


def _names(flow: Flow) -> Iterator[str]:
    for node in flow.nodes.values():
        if not _ID.match(node.id):
            yield (
                f"node '{node.id}', field 'id': use only letters, digits, '_', '-' and '.' "
                "(no spaces or accents)"
            )
        name = node.save_as if isinstance(node, AskNode | MenuNode) else None
        if name and not _NAME.match(name):
            yield (
                f"node '{node.id}', field 'save_as': {name!r} must be a simple name "
                "(letters, digits and '_', not starting with a digit)"
            )
        if name == OFFLINE_MESSAGE:
            yield (
                f"node '{node.id}', field 'save_as': {name!r} is reserved for out-of-hours messages"
            )


def _hours_names(flow: Flow) -> list[str]:
    return [*flow.hours, *(d.name for d in flow.departments.values() if d.hours)]


def _hours_refs(flow: Flow) -> Iterator[str]:
    # Branch conditions also accept a department name: its hours are meant.
    refs: list[tuple[str, str, str | None, bool]] = [
        ("settings", "hours", flow.settings.hours, False)
    ]
    refs += [
        (f"departments[{i}]", "hours", d.hours, False)
        for i, d in enumerate(flow.departments.values())
    ]
    for node in flow.nodes.values():
        if isinstance(node, HandoffNode):
            refs.append((f"node '{node.id}'", "hours", node.hours, False))
        if isinstance(node, BranchNode):
            refs += [
                (f"node '{node.id}'", f"cases[{i}].if.{key}", getattr(c.when, key), True)
                for i, c in enumerate(node.cases)
                for key in ("open", "closed", "holiday")
            ]
    for where, field, name, department_ok in refs:
        if name is None or name in flow.hours:
            continue
        department = flow.department(name) if department_ok else None
        if department is None or department.hours is None:
            hint = suggest(name, _hours_names(flow) if department_ok else list(flow.hours))
            yield f"{where}, field '{field}': no hours named {name!r}{hint}"


def _answer_refs(flow: Flow) -> Iterator[str]:
    known = list(flow.labels)
    for node in flow.nodes.values():
        names: list[tuple[str, str]] = []
        if isinstance(node, HandoffNode) and node.carry is not None:
            names = [(f"carry[{i}]", n) for i, n in enumerate(node.carry)]
        elif isinstance(node, BranchNode):
            names = [
                (f"cases[{i}].if.answer", c.when.answer)
                for i, c in enumerate(node.cases)
                if c.when.answer is not None
            ]
        for field, name in names:
            if name not in flow.labels:
                hint = suggest(name, known)
                yield (
                    f"node '{node.id}', field '{field}': no question saves an answer "
                    f"named {name!r}{hint}"
                )


def _departments(flow: Flow) -> Iterator[str]:
    if not flow.departments:
        return
    for node in flow.nodes.values():
        if not isinstance(node, HandoffNode) or node.department is None:
            continue
        if flow.department(node.department) is None:
            hint = suggest(node.department, list(flow.departments))
            yield (
                f"node '{node.id}', field 'department': {node.department!r} is not in "
                f"'departments'{hint}"
            )


def _conditions(flow: Flow) -> Iterator[str]:
    for node in flow.nodes.values():
        if not isinstance(node, BranchNode):
            continue
        for i, case in enumerate(node.cases):
            when, field = case.when, f"cases[{i}].if"
            tests = [x for x in (when.open, when.closed, when.holiday, when.answer) if x]
            if len(tests) != 1:
                yield (
                    f"node '{node.id}', field '{field}': use exactly one of open, closed, "
                    "holiday, answer"
                )
            elif when.answer is None and (when.equals is not None or when.one_of is not None):
                yield f"node '{node.id}', field '{field}': equals and one_of only go with answer"
            if when.equals is not None and when.one_of is not None:
                yield f"node '{node.id}', field '{field}': use equals or one_of, not both"


def _options(flow: Flow) -> Iterator[str]:
    for node in flow.nodes.values():
        if isinstance(node, MenuNode):
            keys = [o.key for o in node.options]
            phrases = [(o.title, *o.synonyms) for o in node.options]
        elif isinstance(node, SurveyNode):
            keys = [str(o.score) for o in node.options]
            phrases = [(o.title, *o.synonyms) for o in node.options]
        else:
            continue
        yield from _option_clashes(node, keys, phrases)


def _option_clashes(node: Node, keys: list[str], phrases: list[tuple[str, ...]]) -> Iterator[str]:
    where = f"node '{node.id}'"
    field = "id" if isinstance(node, MenuNode) else "score"
    for i, key in enumerate(keys):
        if key in keys[:i]:
            yield (
                f"{where}, field 'options[{i}].{field}': {key!r} is also used by "
                f"options[{keys.index(key)}] (give each option its own {field})"
            )
        elif not _ID.match(key):
            yield f"{where}, field 'options[{i}].id': use only letters, digits, '_', '-' and '.'"
    owner: dict[str, int] = {}
    for i, words in enumerate(phrases):
        for j, word in enumerate(words):
            norm = normalize(word)
            field = "title" if j == 0 else f"synonyms[{j - 1}]"
            if norm in owner and owner[norm] != i:
                yield (
                    f"{where}, field 'options[{i}].{field}': {word!r} also names "
                    f"options[{owner[norm]}], so a citizen typing it would be ambiguous"
                )
            owner.setdefault(norm, i)


def _keywords(flow: Flow) -> Iterator[str]:
    owner: dict[str, int] = {}
    for i, keyword in enumerate(flow.keywords):
        for j, word in enumerate(keyword.words):
            norm = normalize(word)
            if not norm:
                yield f"keywords[{i}], field 'words[{j}]': {word!r} has no letters or digits"
            elif norm in owner and owner[norm] != i:
                yield (
                    f"keywords[{i}], field 'words[{j}]': {word!r} is also in "
                    f"keywords[{owner[norm]}]"
                )
            owner.setdefault(norm, i)


def _texts(node: Node) -> list[tuple[str, str | None, bool]]:
    """(field, text, may use {hours}/{department}) for each citizen-facing text."""
    if isinstance(node, MessageNode | AnswerNode):
        return [("text", node.text, False)]
    if isinstance(node, MenuNode):
        return [
            ("text", node.text, False),
            ("header", node.header, False),
            ("footer", node.footer, False),
            ("retry", node.retry, False),
        ]
    if isinstance(node, AskNode):
        return [("text", node.text, False), ("retry", node.retry, False)]
    if isinstance(node, HandoffNode):
        return [("text", node.text, True), ("offline_text", node.offline_text, True)]
    if isinstance(node, SurveyNode):
        return [
            ("text", node.text, False),
            ("comment", node.comment, False),
            ("thanks", node.thanks, False),
        ]
    if isinstance(node, EndNode):
        return [("text", node.text, False)]
    return []


def _placeholders(flow: Flow) -> Iterator[str]:
    offline = flow.messages.offline
    found = [(f"node '{n.id}'", f, t, b) for n in flow.nodes.values() for f, t, b in _texts(n)]
    found += [("messages", f"offline.{k}", v, True) for k, v in vars(offline).items()]
    found.append(("after_close", "text", flow.after_close.text, False))
    for where, field, text, builtins in found:
        allowed = [*flow.labels, *(BUILTINS if builtins else ())]
        for name in placeholders(text or ""):
            if name not in allowed:
                hint = suggest(name, allowed)
                yield f"{where}, field '{field}': unknown placeholder {{{name}}}{hint}"


def _loops(flow: Flow) -> Iterator[str]:
    """Nodes that follow each other forever without waiting for the citizen. A handoff
    that tells the hours moves on to its `offline_goto` by itself when nobody answers (out
    of hours: one citizen message would send the loop's texts until MAX_HOPS)."""
    auto = {
        n.id: [e.target for e in node_edges(n) if e.target in flow.nodes]
        for n in flow.nodes.values()
        if isinstance(n, _AUTOMATIC) or _moves_on_when_offline(n)
    }
    reported: set[str] = set()
    for start in auto:
        cycle = _cycle_from(start, auto)
        if cycle and not reported.intersection(cycle):
            reported.update(cycle)
            first = flow.nodes[cycle[0]]
            field = "offline_goto" if isinstance(first, HandoffNode) else "next"
            yield (
                f"node '{cycle[0]}', field '{field}': these nodes loop without waiting for "
                f"the citizen: {' -> '.join([*cycle, cycle[0]])}"
            )


def _moves_on_when_offline(node: Node) -> bool:
    if not isinstance(node, HandoffNode):
        return False
    return node.offline == "tell_hours" and node.offline_goto is not None


def _cycle_from(start: str, auto: dict[str, list[str]]) -> list[str] | None:
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node) :]
        if node not in auto:
            return None
        path.append(node)
        for target in auto[node]:
            found = visit(target)
            if found:
                return found
        path.pop()
        return None

    return visit(start)


def _reachable(flow: Flow) -> set[str]:
    links = edges(flow)
    todo = [e.target for e in links if e.source is None]
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if node in seen or node not in flow.nodes:
            continue
        seen.add(node)
        todo += [e.target for e in links if e.source == node]
    return seen
