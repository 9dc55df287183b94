"""The Omnichannel webhook: the shared secret, and Rocket.Chat's test call to the bridge."""

from __future__ import annotations

from pydantic import SecretStr

from .fake_rocketchat import FakeRocketChat
from .helpers import make_settings, setup, status_of


def test_wrong_shared_secret_fails_the_webhook_test(server: str, fake: FakeRocketChat) -> None:
    fake.bridge_token = "the bridge has another token"

    code, lines = setup(server)

    assert code == 1
    test_line = status_of(lines, "webhook test")
    assert test_line.startswith("FAILED: the bridge did not answer 200")
    assert "ROCKETCHAT_WEBHOOK_TOKEN" in test_line
    # Retried once because the webhook had just been changed (settings propagate lazily).
    assert len(fake.requests("POST", "/api/v1/livechat/webhook.test")) == 2


def test_empty_webhook_token_is_refused(server: str, fake: FakeRocketChat) -> None:
    # Loading settings already refuses an empty token (exit 2); this guards the step itself.
    blank = SecretStr("")
    settings = make_settings(server).model_copy(update={"rocketchat_webhook_token": blank})
    code, lines = setup(server, settings=settings)

    assert code == 1
    assert status_of(lines, "webhook").startswith("FAILED: ROCKETCHAT_WEBHOOK_TOKEN is empty")
    assert not fake.requests("POST", "/api/v1/omnichannel/integrations")


def test_a_webhook_of_another_integration_is_shown_and_kept_unless_replaced(
    server: str, fake: FakeRocketChat
) -> None:
    fake.settings["Livechat_webhookUrl"] = "https://crm.example.gov.br/hooks/omnichannel"

    code, lines = setup(server, dry_run=True)
    assert code == 0
    dry = status_of(lines, "webhook")
    assert dry.startswith("would change: Rocket.Chat posts to https://crm.example.gov.br")
    assert "--replace-webhook" in dry

    code, lines = setup(server)
    assert code == 1
    assert status_of(lines, "webhook").startswith("FAILED: Rocket.Chat posts to https://crm")
    assert not fake.requests("POST", "/api/v1/omnichannel/integrations")
    assert fake.settings["Livechat_webhookUrl"] == "https://crm.example.gov.br/hooks/omnichannel"

    code, lines = setup(server, replace_webhook=True)
    assert code == 0, lines
    changed = status_of(lines, "webhook")
    assert "(replacing https://crm.example.gov.br/hooks/omnichannel)" in changed
    assert fake.settings["Livechat_webhookUrl"] == server + "/bridge/webhooks/rocketchat"
