"""Every link between nodes, with where it is written in the file. Used to check that
targets exist, to find loops and unreachable nodes, and to draw the Mermaid graph."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import (
    AnswerNode,
    AskNode,
    BranchNode,
    Condition,
    Flow,
    HandoffNode,
    MenuNode,
    MessageNode,
    Node,
    SurveyNode,
)


@dataclass(frozen=True)
class Edge:
    source: str | None  # the node it leaves from; None for flow-level links
    where: str  # "node 'x'", "flow", "keywords[0]", "settings", "after_close"
    field: str
    target: str
    label: str | None = None
    automatic: bool = False  # followed without waiting for the citizen


def edges(flow: Flow) -> list[Edge]:
    found = [Edge(None, "flow", "start", flow.start, "start")]
    for i, keyword in enumerate(flow.keywords):
        found.append(Edge(None, f"keywords[{i}]", "goto", keyword.goto, ", ".join(keyword.words)))
    if flow.settings.misses_goto:
        found.append(Edge(None, "settings", "misses_goto", flow.settings.misses_goto, "misses"))
    if flow.after_close.goto:
        found.append(Edge(None, "after_close", "goto", flow.after_close.goto, "after close"))
    for node in flow.nodes.values():
        found += node_edges(node)
    return found


def node_edges(node: Node) -> list[Edge]:
    where = f"node '{node.id}'"

    def edge(
        field: str, target: str | None, label: str | None = None, auto: bool = False
    ) -> list[Edge]:
        return [] if target is None else [Edge(node.id, where, field, target, label, auto)]

    if isinstance(node, MessageNode | AnswerNode):
        return edge("next", node.next, None, True)
    if isinstance(node, MenuNode):
        return [
            e
            for i, o in enumerate(node.options)
            for e in edge(f"options[{i}].goto", o.goto, o.title)
        ]
    if isinstance(node, AskNode):
        return edge("next", node.next, node.save_as) + edge("on_fail", node.on_fail, "fail")
    if isinstance(node, BranchNode):
        cases = [
            e
            for i, c in enumerate(node.cases)
            for e in edge(f"cases[{i}].goto", c.goto, condition_text(c.when), True)
        ]
        return cases + edge("default", node.default, "else", True)
    if isinstance(node, HandoffNode):
        return edge("offline_goto", node.offline_goto, "offline")
    if isinstance(node, SurveyNode):
        return edge("next", node.next)
    return []


def condition_text(when: Condition) -> str:
    """A short English rendering of a branch condition, for diagrams."""
    if when.open is not None:
        return f"open {when.open}"
    if when.closed is not None:
        return f"closed {when.closed}"
    if when.holiday is not None:
        return f"holiday {when.holiday}"
    if when.equals is not None:
        return f"{when.answer} = {when.equals}"
    if when.one_of is not None:
        return f"{when.answer} in {', '.join(when.one_of)}"
    return f"{when.answer} given"
