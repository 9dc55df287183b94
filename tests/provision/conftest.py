"""Fixtures for the setup command's tests: a fresh fake Rocket.Chat per test, served on
127.0.0.1 (port 0), and no settle wait before the webhook test is retried."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.provision import webhook

from .fake_rocketchat import FakeRocketChat, Served


@pytest.fixture
def fake() -> FakeRocketChat:
    return FakeRocketChat()


@pytest.fixture
def server(fake: FakeRocketChat) -> Iterator[str]:
    with Served(fake.app()) as served:
        yield served.url


@pytest.fixture(autouse=True)
def _no_settle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "WEBHOOK_SETTLE_SECONDS", 0.0)
