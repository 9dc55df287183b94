"""The first-layer chatbot: a declarative flow (config/flow.yaml) and a pure engine.

The bridge uses only what is exported here (the engine's public names); see bot/README.md
for the flow format.
"""

from __future__ import annotations

from bot import engine
from bot.engine import *  # noqa: F403 - one list of public names, kept in bot.engine

__all__ = engine.__all__
