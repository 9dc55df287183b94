"""Reachability: refused credentials are a problem at once, an outage only after its grace."""

from __future__ import annotations

from bridge.health import Reachability


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_counts_only_after_the_grace_period() -> None:
    clock = Clock()
    health = Reachability("rocketchat", grace=30, clock=clock)
    health.failed("ClientConnectorError")
    clock.now += 29
    assert health.problem() is None
    clock.now += 2
    assert health.problem() == "unreachable for 31 s: ClientConnectorError"
    health.failed("HTTP 502")  # the outage goes on: still counted from its start
    assert health.problem() == "unreachable for 31 s: ClientConnectorError"
    health.ok()
    assert health.problem() is None


def test_refused_credentials_are_a_problem_at_once_until_accepted() -> None:
    health = Reachability("whatsapp:1", grace=30)
    health.rejected("(190) Session has expired")
    assert health.problem() == "credentials refused: (190) Session has expired"
    health.ok()  # any answer proves the service is up, not that the token works
    assert health.problem() is not None
    health.accepted()
    assert health.problem() is None
