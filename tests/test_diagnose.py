"""`python -m bridge check` (issue #10 §1) against the Graph fake and the setup tests'
Rocket.Chat fake: right verdicts, the fix on each failure, and the exit status."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.diagnose import run_check
from bridge.sandbox.graph import FakeGraph
from bridge.settings import Settings
from tests.provision.fake_rocketchat import FakeRocketChat, Served
from tests.provision.helpers import make_settings, setup

STEP = re.compile(r"^(.+?)\s+((?:ok|FAILED|WARNING|skipped|changed)(?::.*)?)$")
PNID, TOKEN, WABA = "106540352242922", "EAAG-access-token-value", "100200300400500"


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph(app_secret="s", access_token=TOKEN, phone_number_id=PNID, waba_id=WABA)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def rocketchat() -> Iterator[tuple[FakeRocketChat, str]]:
    fake = FakeRocketChat()
    with Served(fake.app()) as served:
        yield fake, served.url


def settings_for(tmp_path: Path, graph: FakeGraph, rc_url: str, **overrides: Any) -> Settings:
    values = {
        "whatsapp_phone_number_id": PNID,
        "whatsapp_graph_url": graph.base_url,
        "whatsapp_business_account_id": WABA,
        "bridge_db": tmp_path / "bridge.db",
        **overrides,
    }
    return make_settings(rc_url, **values)


async def check(settings: Settings) -> tuple[int, dict[str, str]]:
    out = io.StringIO()
    code = await run_check(settings, out)
    found = (STEP.match(line) for line in out.getvalue().splitlines())
    return code, {m.group(1): m.group(2) for m in found if m}


async def test_a_correct_configuration_passes_every_check(
    tmp_path: Path, graph: FakeGraph, rocketchat: tuple[FakeRocketChat, str]
) -> None:
    _, url = rocketchat
    assert setup(url)[0] == 0  # the webhook configured as `setup` does it
    code, lines = await check(settings_for(tmp_path, graph, url))
    assert code == 0, lines
    assert lines["settings"].startswith("ok: 1 WhatsApp number(s)")
    assert lines["database"].startswith("ok: ") and "outbox empty" in lines["database"]
    assert lines[f"whatsapp {PNID}"] == (
        f"ok: phone number id {PNID} is +5511999990000 (?); the token reaches it"
    )
    assert lines["subscription"].startswith("ok: subscribed: Ponte WhatsApp")
    assert lines["webhook"].startswith("ok: ") and lines["omnichannel"] == "ok: enabled"
    assert lines["check"].startswith("ok: 0 changed") and lines["check"].endswith("0 failed")
    assert TOKEN not in repr(lines)


@pytest.mark.parametrize(
    "case",
    [
        ({"whatsapp_access_token": "EAAG-expired"}, f"whatsapp {PNID}",
         "FAILED: the access token is refused (expired or revoked, code 190); fix:"),
        ({"whatsapp_phone_number_id": "106540352249999"}, "whatsapp 106540352249999",
         "FAILED: phone number id 106540352249999 is not reachable with this token (code 100)"),
        ({"whatsapp_business_account_id": "100200300400999"}, "subscription",
         "FAILED: cannot read 100200300400999/subscribed_apps (HTTP 400)"),
    ],
)  # fmt: skip
async def test_a_broken_whatsapp_setting_fails_with_its_fix(
    tmp_path: Path,
    graph: FakeGraph,
    rocketchat: tuple[FakeRocketChat, str],
    case: tuple[dict[str, str], str, str],
) -> None:
    broken, step, verdict = case
    _, url = rocketchat
    setup(url)
    code, lines = await check(settings_for(tmp_path, graph, url, **broken))
    assert code == 1
    assert lines[step].startswith(verdict), lines[step]
    assert lines["check"].startswith("FAILED")


async def test_an_account_without_subscribed_apps_gets_no_webhooks(
    tmp_path: Path, graph: FakeGraph, rocketchat: tuple[FakeRocketChat, str]
) -> None:
    _, url = rocketchat
    setup(url)
    graph.subscribed_apps = []
    code, lines = await check(settings_for(tmp_path, graph, url))
    assert code == 1 and "POST /<WABA_ID>/subscribed_apps" in lines["subscription"]


async def test_rocketchat_down_fails_the_login(tmp_path: Path, graph: FakeGraph) -> None:
    code, lines = await check(settings_for(tmp_path, graph, "http://127.0.0.1:9"))
    assert code == 1
    assert lines["login"].startswith("FAILED")
    assert "webhook" not in lines  # nothing more is tried against a server that is not there


async def test_a_webhook_pointing_elsewhere_fails_with_the_fix(
    tmp_path: Path, graph: FakeGraph, rocketchat: tuple[FakeRocketChat, str]
) -> None:
    fake, url = rocketchat
    setup(url)
    fake.settings["Livechat_webhookUrl"] = "https://crm.example.gov.br/hook"
    code, lines = await check(settings_for(tmp_path, graph, url))
    assert code == 1
    assert lines["webhook"].startswith(
        "FAILED: the Omnichannel webhook points at https://crm.example.gov.br/hook: run"
    )
    assert "--replace-webhook" in lines["webhook"]
