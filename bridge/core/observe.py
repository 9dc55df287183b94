"""What the core reports as it works, for metrics: an observer the composition root
plugs in (bridge/metrics.py), so the core itself knows nothing of Prometheus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bridge.core.storage import Applied, Event, Failed, Settlement


class Observer(Protocol):
    def accepted(self, events: Sequence[Event], results: Sequence[Applied | Failed]) -> None:
        """Events run against the store, with what became of each."""

    def rejected(self, source: str, reason: str) -> None:
        """A signed item set aside (recorded for audit, not acted on)."""

    def settled(self, settlement: Settlement) -> None:
        """A delivery attempt's result, as written."""


class Unobserved:
    def accepted(self, events: Sequence[Event], results: Sequence[Applied | Failed]) -> None:
        pass

    def rejected(self, source: str, reason: str) -> None:
        pass

    def settled(self, settlement: Settlement) -> None:
        pass
