"""Turning pydantic's validation errors into one line per problem that names the node
(or section) and the field, in words a flow author understands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from rapidfuzz import fuzz, process

from bot.matching import normalize
from bot.schema import NODE_TYPES, field_names


class FlowError(Exception):
    """The flow file is unusable; `errors` has one message per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def where(loc: Sequence[int | str], raw: Any) -> tuple[str, list[int | str]]:
    """Split an error location into "node 'x'" (or a section) and the rest of the path."""
    head, rest = loc[0] if loc else "", list(loc[1:])
    if head == "nodes" and rest and isinstance(rest[0], int):
        node = _item(raw, "nodes", rest[0])
        node_id = node.get("id") if isinstance(node, dict) else None
        rest = rest[1:]
        if rest and isinstance(node, dict) and rest[0] == node.get("type"):
            rest = rest[1:]  # the discriminator pydantic inserts for tagged unions
        name = f"node '{node_id}'" if isinstance(node_id, str) else f"nodes[{loc[1]}]"
        return name, rest
    if head == "hours" and rest:
        return f"hours '{rest[0]}'", rest[1:]
    if head in ("keywords", "departments") and rest and isinstance(rest[0], int):
        return f"{head}[{rest[0]}]", rest[1:]
    if head in ("settings", "messages", "after_close"):
        return str(head), rest
    return "flow", list(loc)


def path(parts: Sequence[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(exc: ValidationError, raw: Any) -> list[str]:
    lines = []
    for error in exc.errors():
        place, rest = where(error["loc"], raw)
        if error["type"].startswith("union_tag"):
            rest = [*rest, "type"]
        field = path(rest)
        problem = _problem(error, field)
        lines.append(f"{place}, field '{field}': {problem}" if field else f"{place}: {problem}")
    return lines


def _problem(error: ErrorDetails, field: str) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        name = field.rpartition(".")[2]
        return "unknown field" + suggest(name, field_names())
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_invalid":
        return f"unknown node type {ctx.get('tag')!r} (expected one of {', '.join(NODE_TYPES)})"
    if kind == "union_tag_not_found":
        return f"missing 'type' (one of {', '.join(NODE_TYPES)})"
    if kind == "literal_error":
        return f"{error['input']!r} is not allowed (expected {ctx.get('expected')})"
    return str(error["msg"])


def suggest(name: str, known: Sequence[str] | set[str]) -> str:
    """ " (did you mean 'x'?)" when a known name is close to `name`, else ""."""
    found = process.extractOne(
        name, list(known), scorer=fuzz.WRatio, processor=normalize, score_cutoff=60
    )
    return f" (did you mean {found[0]!r}?)" if found else ""


def _item(raw: Any, key: str, index: int) -> Any:
    items = raw.get(key) if isinstance(raw, dict) else None
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None
