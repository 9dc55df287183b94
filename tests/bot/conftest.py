"""Fixtures for the bot tests (helpers in support/flows.py)."""

from __future__ import annotations

import pytest

from bot.engine import Flow
from bot.flow import load_flow
from tests.support.flows import DEFAULT_FLOW


@pytest.fixture(scope="session")
def default_flow() -> Flow:
    return load_flow(DEFAULT_FLOW)
