"""`python -m bot graph FILE`: the flow as a Mermaid flowchart, for documentation and for
reviewing a change at a glance (GitHub and GitLab render Mermaid in Markdown)."""

from __future__ import annotations

from bot.edges import Edge, edges
from bot.model import NODE_KIND, Flow, Node

# Mermaid shapes by node kind: (open, close).
_SHAPES = {
    "message": ("[", "]"),
    "menu": ("{", "}"),
    "answer": ("([", "])"),
    "ask": ("[/", "/]"),
    "branch": ("{{", "}}"),
    "handoff": ("[[", "]]"),
    "end": ("((", "))"),
    "survey": ("[\\", "\\]"),
}
_STYLES = {
    "handoff": "fill:#ffe0b2,stroke:#e65100",
    "answer": "fill:#e8f5e9,stroke:#2e7d32",
    "end": "fill:#eeeeee,stroke:#616161",
}
_LABEL_CHARS = 40


def mermaid(flow: Flow) -> str:
    lines = ["flowchart TD", "  flow_start(((start)))"]
    lines += [f"  {_node(node)}" for node in flow.nodes.values()]
    lines += [f"  {_edge(i, edge)}" for i, edge in enumerate(edges(flow))]
    lines += [f"  classDef k_{kind} {style}" for kind, style in _STYLES.items()]
    lines += [
        f"  class {_safe(node.id)} k_{NODE_KIND[type(node)]}"
        for node in flow.nodes.values()
        if NODE_KIND[type(node)] in _STYLES
    ]
    return "\n".join(lines) + "\n"


def _node(node: Node) -> str:
    kind = NODE_KIND[type(node)]
    opening, closing = _SHAPES[kind]
    return f'{_safe(node.id)}{opening}"{_text(node.id)}<br/>({kind})"{closing}'


def _edge(index: int, edge: Edge) -> str:
    target = _safe(edge.target)
    label = f'|"{_text(edge.label)}"|' if edge.label else ""
    if edge.source is not None:
        arrow = "-->" if edge.field != "on_fail" else "-.->"
        return f"{_safe(edge.source)} {arrow}{label} {target}"
    if edge.where == "flow":
        return f"flow_start --> {target}"
    return f'g{index}>"{_text(edge.where)}"] -.->{label} {target}'


def _safe(node_id: str) -> str:
    """Mermaid ids may not contain '-' or '.'; map them to '_' consistently."""
    return "n_" + node_id.replace("-", "_").replace(".", "_")


def _text(text: str) -> str:
    short = text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"
    return short.replace('"', "#quot;").replace("\n", " ")
