"""Loading a flow file: YAML -> pydantic schema -> frozen dataclasses -> cross-checks.

Any problem raises FlowError with every message at once (one per line, each naming the
node or section and the field), so a bad flow refuses to start and the author can fix
everything in one pass.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.build import build
from bot.checks import check, warnings
from bot.errors import FlowError, describe
from bot.fit import check_fit
from bot.model import Flow
from bot.schema import FlowModel

__all__ = ["FlowError", "flow_from_data", "load_flow", "parse_flow", "read_yaml"]


class _Loader(yaml.SafeLoader):
    """YAML without the YAML 1.1 surprises: `no`/`sim` stay text, 13:00 is not the number
    780, 2026-12-25 stays text (we parse dates ourselves), and duplicate keys are errors."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's own class attribute

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9]+\.[0-9]+)$", "-+0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), None)


def load_flow(path: str | Path) -> Flow:
    """Read and validate a flow file; raises FlowError listing every problem."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([f"{source}: cannot read the file ({exc})"]) from None
    return parse_flow(text, str(source))


def parse_flow(text: str, source: str = "<flow>") -> Flow:
    """Validate a flow given as YAML text."""
    return flow_from_data(read_yaml(text, source))


def read_yaml(text: str, source: str = "<flow>") -> Any:
    """Parse YAML the way flow files are read (see _Loader); raises FlowError."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise FlowError([_yaml_problem(source, exc)]) from None


def flow_from_data(data: Any) -> Flow:
    """Validate a flow already parsed into Python data (a dict)."""
    if not isinstance(data, dict):
        raise FlowError(
            ["flow: the file must be a mapping with at least 'start', 'messages' and 'nodes'"]
        )
    try:
        model = FlowModel.model_validate(data)
    except ValidationError as exc:
        raise FlowError(describe(exc, data)) from None
    flow, errors = build(model)
    errors += check(flow) + check_fit(flow)
    if errors:
        raise FlowError(errors)
    return replace(flow, warnings=tuple(warnings(flow)))


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"{source}: invalid YAML: {problem}"
    return f"{source}, line {mark.line + 1}, column {mark.column + 1}: invalid YAML: {problem}"
