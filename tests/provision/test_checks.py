"""The read-only checks: Rocket.Chat version and Omnichannel enabled."""

from __future__ import annotations

from .fake_rocketchat import FakeRocketChat
from .helpers import setup, status_of


def test_omnichannel_disabled(server: str, fake: FakeRocketChat) -> None:
    fake.livechat_enabled = False

    code, lines = setup(server)

    assert code == 1
    assert status_of(lines, "omnichannel").startswith("FAILED: disabled")


def test_old_version_is_a_warning(server: str, fake: FakeRocketChat) -> None:
    fake.version = "6.14.0"

    code, lines = setup(server)

    assert code == 0
    assert status_of(lines, "version").startswith("WARNING: Rocket.Chat 6.14.0")
