from __future__ import annotations

import pytest

from bot.engine import Input, Media, State, step
from bot.state import Exchange
from tests.support.flows import MONDAY_2PM


def test_json_round_trip_keeps_everything() -> None:
    state = State(
        node="pergunta",
        answers={"nome": "Maria", "cpf": "529.982.247-25"},
        misses=2,
        last_activity=1795453200.5,
        history=(Exchange("citizen", "oi"), Exchange("bot", "Olá!")),
        phase="comment",
        files={"foto": Media("image", "m1", "image/jpeg", None)},
        choices=("Iluminação Pública",),
        survey_score=4,
        offset=9,
    )
    assert State.from_json(state.to_json()) == state
    assert "Iluminação" in state.to_json()  # stored readable, not \u-escaped


def test_default_state_round_trips() -> None:
    assert State.from_json(State().to_json()) == State()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"v": 99}',
        '{"v": 1, "phase": "dancing"}',
        '{"v": 1, "history": [["robot", "x"]]}',
        '{"v": 1, "files": {"f": {"kind": "gif", "ref": 1}}}',
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a bot state"):
        State.from_json(text)


def test_a_restart_is_invisible(default_flow) -> None:  # type: ignore[no-untyped-def]
    first = step(default_flow, None, Input("oi"), MONDAY_2PM)
    revived = State.from_json(first.state.to_json())
    assert step(default_flow, revived, Input("2"), MONDAY_2PM) == step(
        default_flow, first.state, Input("2"), MONDAY_2PM
    )
