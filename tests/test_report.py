"""The report's arithmetic on records written by hand: categories, percentiles, days."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.core import contacts as c
from bridge.core.contacts import ContactRecord
from bridge.report import build, classify, run, window
from tests.support.e2e import make_settings

ZONE = ZoneInfo("America/Sao_Paulo")
DAY1 = datetime(2026, 11, 24, 9, 0, tzinfo=ZONE).timestamp()


def record(n: int, outcome: str | None, **times: float | int | None) -> ContactRecord:
    fields: dict[str, float | int | None] = {
        "handed_off_at": None, "room_opened_at": None, "taken_at": None,
        "first_answer_at": None, "closed_at": None, "ended_at": None, "survey_score": None,
    } | times  # fmt: skip
    return ContactRecord(n, "1", DAY1 + n, "", outcome, "Geral", "",
                         **fields)  # type: ignore[arg-type]  # fmt: skip


def test_waits_are_measured_from_the_room_and_cut_at_the_percentiles() -> None:
    answered = [
        record(n, c.HANDED_OFF, room_opened_at=DAY1, first_answer_at=DAY1 + wait)
        for n, wait in enumerate([10, 20, 30, 40, 600])
    ]
    report = build(answered, date(2026, 11, 24), date(2026, 11, 24), ZONE, now=DAY1 + 999)
    assert report.total.wait_median_seconds == 30
    assert report.total.wait_p90_seconds == 600
    assert report.total.answered == 5 and report.departments["Geral"].handed_off == 5


def test_a_contact_left_with_the_bot_counts_as_abandoned_after_a_day() -> None:
    quiet = record(1, None)
    assert classify(quiet, now=DAY1 + 3600) == "under_way"
    assert classify(quiet, now=DAY1 + 2 * 86400) == "abandoned_in_bot"
    queued = record(2, c.HANDED_OFF, room_opened_at=DAY1)
    assert classify(queued, now=DAY1) == "waiting_for_agent"
    assert classify(record(3, c.HANDED_OFF, closed_at=DAY1), now=DAY1) == "abandoned_in_queue"


def test_days_follow_the_city_clock_and_empty_days_are_listed() -> None:
    since, until = window(date(2026, 11, 24), date(2026, 11, 26), ZONE)
    assert until - since == 3 * 86400
    late = ContactRecord(1, "1", datetime(2026, 11, 24, 23, 30, tzinfo=ZONE).timestamp(), "",
                         c.BOT_RESOLVED, "", "", None, None, None, None, None, None, 4)  # fmt: skip
    report = build([late], date(2026, 11, 24), date(2026, 11, 26), ZONE, now=until)
    assert list(report.days) == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert report.days["2026-11-24"].bot_resolved == 1  # 02:30 UTC the next day
    assert report.total.survey_scores == {"4": 1} and report.total.bot_share == 1.0


def test_an_output_file_that_cannot_be_written_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path / "bridge.db", "http://127.0.0.1:9", "http://127.0.0.1:9")
    today = date.today()
    args = argparse.Namespace(
        start=today, end=today, department=None, format="csv", operator="diretora",
        timezone="America/Sao_Paulo", output=str(tmp_path / "missing" / "relatorio.csv"),
    )  # fmt: skip
    assert run(settings, args) == 1
    assert capsys.readouterr().err.strip().endswith("relatorio.csv: No such file or directory")
