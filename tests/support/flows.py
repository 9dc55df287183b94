"""Helpers for the bot tests: the default flow, and small flows built from Python data."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.engine import Flow, Input, State, Step, step
from bot.errors import FlowError
from bot.flow import flow_from_data, read_yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FLOW = ROOT / "config" / "flow.yaml"
SP = ZoneInfo("America/Sao_Paulo")
MONDAY_2PM = datetime(2026, 11, 23, 14, 0, tzinfo=SP)  # a Monday, inside business hours
MONDAY_NIGHT = datetime(2026, 11, 23, 20, 0, tzinfo=SP)
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=SP)

_TEXT = DEFAULT_FLOW.read_text(encoding="utf-8")
_MESSAGES = read_yaml(_TEXT)["messages"]
# The default flow's `messages:` block as YAML text, to build small flow files from.
MESSAGES_YAML = _TEXT[_TEXT.index("\nmessages:") + 1 : _TEXT.index("\nnodes:") + 1]


def base(nodes: Sequence[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A flow document with the default flow's messages and the given nodes."""
    data: dict[str, Any] = {
        "start": nodes[0]["id"],
        "messages": copy.deepcopy(_MESSAGES),
        "nodes": list(nodes),
    }
    data.update(top)
    return data


def make(nodes: Sequence[dict[str, Any]], **top: Any) -> Flow:
    return flow_from_data(base(nodes, **top))


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(FlowError) as caught:
        flow_from_data(data)
    return caught.value.errors


def run(
    flow: Flow, texts: Sequence[str | Input], now: datetime = MONDAY_2PM, state: State | None = None
) -> list[Step]:
    """Feed messages one by one; returns every step."""
    steps = []
    for item in texts:
        inp = item if isinstance(item, Input) else Input(text=item)
        result = step(flow, state, inp, now)
        state = result.state
        steps.append(result)
    return steps
