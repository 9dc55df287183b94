"""The default 156 flow as the e2e tests run it: a bot on a clock the test moves."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import bot as engine
from bridge.botlink import FlowBot, load_flow_bot
from tests.support.flows import DEFAULT_FLOW

ZONE = ZoneInfo("America/Sao_Paulo")
TUESDAY_10H = datetime(2026, 11, 24, 10, 0, tzinfo=ZONE)
SUNDAY_10H = datetime(2026, 11, 29, 10, 0, tzinfo=ZONE)


class Clock:
    def __init__(self) -> None:
        self.now = TUESDAY_10H

    def __call__(self) -> datetime:
        return self.now


def default_flow_bot(clock: Clock) -> FlowBot:
    return load_flow_bot(DEFAULT_FLOW, "Atendimento Geral", clock)


def default_flow_departments() -> tuple[str, ...]:
    """The flow's departments, which the fake Rocket.Chat then has."""
    return tuple(engine.load_flow(DEFAULT_FLOW).departments)
