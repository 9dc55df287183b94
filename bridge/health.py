"""Reachability of the remote services, as the clients last saw it (for /readyz)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

log = structlog.get_logger("bridge.health")


@dataclass
class Reachability:
    """Any HTTP answer counts as reachable; only connection failures and 5xx do not.

    A change is logged once each way, so an outage is two lines, not thousands."""

    name: str
    last_ok: float | None = None
    last_failure: float | None = None
    down: bool = False

    def ok(self) -> None:
        self.last_ok = time.time()
        if self.down:
            self.down = False
            log.info("remote.recovered", remote=self.name)

    def failed(self, reason: str) -> None:
        self.last_failure = time.time()
        if not self.down:
            self.down = True
            log.warning("remote.unreachable", remote=self.name, reason=reason)

    def healthy(self) -> bool:
        return not self.down
