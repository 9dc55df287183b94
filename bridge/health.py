"""Reachability of the remote services, as the clients last saw them (for /readyz).

Two different troubles: credentials refused (an expired or revoked token, a phone number
id the token does not reach) is wrong at once and stays wrong until someone fixes it;
an unreachable service (connection failures, 5xx) counts only once it has lasted `grace`
seconds, so one hiccup does not take the bridge out of a load balancer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("bridge.health")


@dataclass
class Reachability:
    """A change is logged once each way, so an outage is two lines, not thousands."""

    name: str
    grace: float = 0.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    down_since: float | None = None
    down_reason: str = ""
    refused: str | None = None

    def ok(self) -> None:
        """An answer that is not a 5xx: the service is there."""
        if self.down_since is not None:
            self.down_since = None
            log.info("remote.recovered", remote=self.name)

    def accepted(self) -> None:
        """A success with our credentials: whatever refused them before is fixed."""
        self.ok()
        if self.refused is not None:
            self.refused = None
            log.info("remote.credentials_accepted", remote=self.name)

    def failed(self, reason: str) -> None:
        if self.down_since is None:
            self.down_since, self.down_reason = self.clock(), reason
            log.warning("remote.unreachable", remote=self.name, reason=reason)

    def rejected(self, reason: str) -> None:
        self.ok()
        if self.refused is None:
            log.error("remote.credentials_refused", remote=self.name, reason=reason)
        self.refused = reason

    def problem(self) -> str | None:
        """What is wrong, for /readyz and `check`; None when usable."""
        if self.refused is not None:
            return f"credentials refused: {self.refused}"
        if self.down_since is not None:
            lasted = self.clock() - self.down_since
            if lasted >= self.grace:
                return f"unreachable for {lasted:.0f} s: {self.down_reason}"
        return None
