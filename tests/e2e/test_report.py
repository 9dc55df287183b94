"""The contact record and the director's report (issue #10 §3-4) on conversations scripted
over HTTP through the default flow, one per outcome: resolved by the bot, answered by an
agent (with a survey), abandoned in the queue, refused for nobody online, refused out of
hours, and one still with the bot."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bridge.core.decide import Bot
from bridge.report import produce
from tests.support.e2e import Env, settled, until
from tests.support.flowbot import (
    SUNDAY_10H,
    ZONE,
    Clock,
    default_flow_bot,
    default_flow_departments,
)

RESOLVED, ANSWERED, LEFT_QUEUE, NO_AGENT, CLOSED_HOURS, UNDER_WAY = (
    f"55119000000{n:02d}" for n in range(1, 7)
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bot(clock: Clock) -> Bot:
    return default_flow_bot(clock)


@pytest.fixture
def departments() -> tuple[str, ...]:
    return default_flow_departments()


async def say(env: Env, wa_id: str, *lines: str) -> None:
    for line in lines:
        assert (await env.graph.citizen_says(wa_id, line, name="Cidadã"))[0] == 200
        await settled(env)


def room_of(env: Env, wa_id: str) -> str:
    conv = [r for r in env.rc.rooms.values() if r["open"] and r["v"]["token"] in tokens(env, wa_id)]
    assert len(conv) == 1
    return str(conv[0]["_id"])


def tokens(env: Env, wa_id: str) -> set[str]:
    return {t for t, v in env.rc.visitors.items() if wa_id[-4:] in str(v.get("phone"))}


async def script(env: Env, clock: Clock) -> None:
    await say(env, RESOLVED, "oi", "Dúvidas frequentes", "1")
    await say(env, ANSWERED, "oi", "atendente")
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    rid = env.rc.open_room_ids()[0]
    await env.rc.agent_says(rid, "Bom dia, como posso ajudar?")
    await env.rc.close_room(rid)
    await settled(env)
    survey = [m for m in env.graph.sent_to(ANSWERED) if m["type"] == "interactive"][-1]
    rows = [r for s in survey["interactive"]["action"]["sections"] for r in s["rows"]]
    best = next(r for r in rows if r["title"] == "Ótimo")
    await env.graph.citizen_picks_row(ANSWERED, best["id"], best["title"], name="Cidadã")
    await settled(env)
    await say(env, ANSWERED, "pular")  # no comment: the survey is recorded
    await say(env, LEFT_QUEUE, "oi", "atendente")
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    await env.rc.close_room(env.rc.open_room_ids()[0])  # nobody answered
    await settled(env)
    env.rc.agents_online = False
    await say(env, NO_AGENT, "oi", "atendente")
    env.rc.agents_online = True
    await say(env, UNDER_WAY, "oi")
    clock.now = SUNDAY_10H
    await say(env, CLOSED_HOURS, "oi", "atendente")


def args(fmt: str, **extra: Any) -> argparse.Namespace:
    today = datetime.now(ZONE).date()
    values = {"start": today, "end": today, "department": None, "format": fmt,
              "operator": "diretora"} | extra  # fmt: skip
    return argparse.Namespace(**values)


async def test_every_outcome_is_counted_where_the_director_expects_it(
    env: Env, clock: Clock
) -> None:
    await script(env, clock)
    text = await produce(env.settings, args("json"), ZONE)
    assert text is not None
    total = json.loads(text)["total"]
    assert total["contacts"] == 6
    assert (total["bot_resolved"], total["handed_off"], total["answered"]) == (1, 2, 1)
    assert total["abandoned_in_queue"] == 1 and total["waiting_for_agent"] == 0
    assert (total["refused_no_agent"], total["refused_out_of_hours"]) == (1, 1)
    assert total["without_answer"] == 3 and total["under_way"] == 1
    assert total["bot_share"] == pytest.approx(1 / 6)
    assert total["wait_median_seconds"] is not None and total["wait_median_seconds"] >= 0
    assert (total["survey_answers"], total["survey_average"]) == (1, 5.0)
    assert total["survey_scores"] == {"5": 1}
    general = json.loads(text)["departments"]["Atendimento Geral"]
    assert (general["handed_off"], general["answered"]) == (2, 1)

    resolved = [c for c in await env.parts.store.contacts(0, 4e9) if c.outcome == "bot_resolved"]
    assert [c.topic for c in resolved] == ["horarios"]  # the FAQ answered
    only = await produce(env.settings, args("json", department="Atendimento Geral"), ZONE)
    assert only is not None and json.loads(only)["total"]["contacts"] == 4
    entries = [e for e in await env.parts.store.audit_log(10) if e.action == "report"]
    assert [e.operator for e in entries] == ["diretora", "diretora"]
    assert entries[1].detail.endswith("format=json; department=Atendimento Geral")


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)


async def test_the_html_report_is_one_page_with_three_charts_and_no_script(
    env: Env, clock: Clock, tmp_path: Path
) -> None:
    await script(env, clock)
    html = await produce(env.settings, args("html"), ZONE)
    assert html is not None
    page = Page()
    page.feed(html)
    assert page.tags.count("svg") == 3 and page.tags.count("table") == 2
    assert "script" not in page.tags and page.external == []
    for text in ("Resolved by the bot", "Atendimento Geral", "Satisfaction"):
        assert text in html
    for secret in (ANSWERED, "Cidadã", "Bom dia"):
        assert secret not in html
    (tmp_path / "report.html").write_text(html, encoding="utf-8")


async def test_table_and_csv_carry_the_same_figures(env: Env, clock: Clock) -> None:
    await script(env, clock)
    table = await produce(env.settings, args("table"), ZONE)
    csv_text = await produce(env.settings, args("csv"), ZONE)
    assert table is not None and csv_text is not None
    assert "contacts 6; resolved by the bot 1 (17%, goal 80%)" in table
    header, total = csv_text.splitlines()[:2]
    assert header.startswith("scope,key,contacts,bot_resolved,handed_off")
    assert total.startswith("total,,6,1,2,1,3,")


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


async def test_a_headless_browser_draws_the_three_charts(
    env: Env, clock: Clock, tmp_path: Path
) -> None:
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no headless Chromium or Chrome on this machine")
    await script(env, clock)
    html = await produce(env.settings, args("html"), ZONE)
    assert html is not None
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    browsing = await asyncio.create_subprocess_exec(
        browser, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", page.as_uri(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    shown, _ = await asyncio.wait_for(browsing.communicate(), 60)
    assert browsing.returncode == 0
    dom = Page()
    dom.feed(shown.decode())
    assert dom.tags.count("svg") == 3 and dom.tags.count("figure") == 3
