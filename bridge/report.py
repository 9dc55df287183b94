"""`python -m bridge report`: the director's figures (issue #10 §4) from the contact
records: contacts, resolved by the bot against the city's goal, handed off per department,
left without an answer, time to the first agent answer, satisfaction; per day and per
department. Formats: table, csv, json, and html (report_html.py, with charts)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.core import contacts as c
from bridge.core.contacts import ContactRecord
from bridge.core.privacy import AuditEntry
from bridge.lgpd import os_user
from bridge.settings import Settings
from bridge.store import StoreError, open_admin_store

BOT_GOAL = 0.80  # the share of contacts the city hopes the bot resolves
STALE = 86400.0  # a contact still with the bot after a day was abandoned there


@dataclass(frozen=True)
class Figures:
    contacts: int = 0
    bot_resolved: int = 0
    handed_off: int = 0
    answered: int = 0  # handed off and answered by an agent
    refused_no_agent: int = 0
    refused_out_of_hours: int = 0
    abandoned_in_queue: int = 0  # room closed before any agent answered
    waiting_for_agent: int = 0  # handed off, no answer yet
    abandoned_in_bot: int = 0
    ended_in_bot: int = 0
    under_way: int = 0
    wait_median_seconds: float | None = None
    wait_p90_seconds: float | None = None
    survey_answers: int = 0
    survey_average: float | None = None
    survey_scores: dict[str, int] = field(default_factory=dict)

    @property
    def without_answer(self) -> int:
        """Refused, abandoned in the queue, or never answered by an agent."""
        return (self.refused_no_agent + self.refused_out_of_hours + self.abandoned_in_queue
                + self.waiting_for_agent)  # fmt: skip

    @property
    def bot_share(self) -> float | None:
        return self.bot_resolved / self.contacts if self.contacts else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "without_answer": self.without_answer,
                "bot_share": self.bot_share}  # fmt: skip


@dataclass(frozen=True)
class Report:
    start: date
    end: date  # inclusive
    department: str | None
    timezone: str
    total: Figures
    days: dict[str, Figures]
    departments: dict[str, Figures]

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "department": self.department,
            "timezone": self.timezone,
            "bot_goal": BOT_GOAL,
            "total": self.total.as_dict(),
            "days": {day: f.as_dict() for day, f in self.days.items()},
            "departments": {name: f.as_dict() for name, f in self.departments.items()},
        }


def window(start: date, end: date, zone: ZoneInfo) -> tuple[float, float]:
    """[start 00:00, the day after end 00:00) in the city's time zone, as epoch seconds."""
    first = datetime.combine(start, datetime.min.time(), zone)
    after = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
    return first.timestamp(), after.timestamp()


def build(
    records: Sequence[ContactRecord],
    start: date,
    end: date,
    zone: ZoneInfo,
    *,
    now: float,
    department: str | None = None,
) -> Report:
    chosen = [r for r in records if department is None or r.department == department]
    days: dict[str, list[ContactRecord]] = {}
    current = start
    while current <= end:
        days[current.isoformat()] = []
        current += timedelta(days=1)
    for record in chosen:
        day = datetime.fromtimestamp(record.started_at, zone).date().isoformat()
        days.setdefault(day, []).append(record)
    by_department: dict[str, list[ContactRecord]] = {}
    for record in chosen:
        if record.department:
            by_department.setdefault(record.department, []).append(record)
    return Report(
        start, end, department, zone.key,
        figures(chosen, now),
        {day: figures(rows, now) for day, rows in days.items()},
        {name: figures(rows, now) for name, rows in sorted(by_department.items())},
    )  # fmt: skip


def figures(records: Iterable[ContactRecord], now: float) -> Figures:
    counts: dict[str, int] = {}
    waits: list[float] = []
    scores: list[int] = []
    for record in records:
        kind = classify(record, now)
        counts[kind] = counts.get(kind, 0) + 1
        if record.outcome == c.HANDED_OFF:
            counts["handed_off"] = counts.get("handed_off", 0) + 1
        if (wait := _wait(record)) is not None:
            waits.append(wait)
        if record.survey_score is not None:
            scores.append(record.survey_score)
    return Figures(
        contacts=sum(v for k, v in counts.items() if k != "handed_off"),
        bot_resolved=counts.get("bot_resolved", 0),
        handed_off=counts.get("handed_off", 0),
        answered=counts.get("answered", 0),
        refused_no_agent=counts.get("refused_no_agent", 0),
        refused_out_of_hours=counts.get("refused_out_of_hours", 0),
        abandoned_in_queue=counts.get("abandoned_in_queue", 0),
        waiting_for_agent=counts.get("waiting_for_agent", 0),
        abandoned_in_bot=counts.get("abandoned_in_bot", 0),
        ended_in_bot=counts.get("ended_in_bot", 0),
        under_way=counts.get("under_way", 0),
        wait_median_seconds=statistics.median(waits) if waits else None,
        wait_p90_seconds=_percentile(waits, 0.9),
        survey_answers=len(scores),
        survey_average=round(statistics.fmean(scores), 2) if scores else None,
        survey_scores={str(s): scores.count(s) for s in sorted(set(scores))},
    )


def classify(record: ContactRecord, now: float) -> str:
    """One kind per contact, the categories of the report."""
    outcome = record.outcome
    if outcome == c.HANDED_OFF:
        if record.first_answer_at is not None:
            return "answered"
        return "abandoned_in_queue" if record.closed_at is not None else "waiting_for_agent"
    if outcome in (c.BOT_RESOLVED, c.REFUSED_NO_AGENT, c.REFUSED_OUT_OF_HOURS):
        return outcome
    if outcome == c.ABANDONED_BOT:
        return "abandoned_in_bot"
    if outcome == c.ENDED_BY_BOT:
        return "ended_in_bot"
    return "abandoned_in_bot" if now - record.started_at > STALE else "under_way"


def _wait(record: ContactRecord) -> float | None:
    since = record.room_opened_at or record.handed_off_at
    if since is None or record.first_answer_at is None:
        return None
    return max(0.0, record.first_answer_at - since)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- formats ---------------------------------------------------------------------------

COLUMNS = (
    ("contacts", "contacts"),
    ("bot_resolved", "bot resolved"),
    ("handed_off", "handed off"),
    ("answered", "answered"),
    ("without_answer", "no answer"),
    ("abandoned_in_bot", "left bot"),
    ("wait_median_seconds", "wait p50"),
    ("wait_p90_seconds", "wait p90"),
    ("survey_average", "survey"),
)


def as_table(report: Report) -> str:
    total = report.total
    share = "-" if total.bot_share is None else f"{total.bot_share:.0%}"
    lines = [
        f"Contacts from {report.start} to {report.end} ({report.timezone})"
        + (f", department {report.department}" if report.department else ""),
        f"  contacts {total.contacts}; resolved by the bot {total.bot_resolved} ({share}, goal"
        f" {BOT_GOAL:.0%}); handed off {total.handed_off}; left without an answer"
        f" {total.without_answer} (refused: no agent {total.refused_no_agent}, out of hours"
        f" {total.refused_out_of_hours}; abandoned in the queue {total.abandoned_in_queue};"
        f" still waiting {total.waiting_for_agent})",
        f"  time to the first agent answer: median {_duration(total.wait_median_seconds)},"
        f" 90% within {_duration(total.wait_p90_seconds)}; survey"
        f" {_number(total.survey_average)} from {total.survey_answers} answers"
        f" {total.survey_scores or ''}".rstrip(),
        "",
    ]
    for title, rows in (("day", report.days), ("department", report.departments)):
        header = [title] + [label for _, label in COLUMNS]
        body = [[key] + [cell(f, name) for name, _ in COLUMNS] for key, f in rows.items()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in body]
        lines.append("")
    return "\n".join(lines)


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    names = [name for name, _ in COLUMNS] + ["refused_no_agent", "refused_out_of_hours",
                                            "abandoned_in_queue", "waiting_for_agent"]  # fmt: skip
    writer.writerow(["scope", "key", *names])
    rows = [("total", "", report.total)]
    rows += [("day", d, f) for d, f in report.days.items()]
    rows += [("department", n, f) for n, f in report.departments.items()]
    for scope, key, found in rows:
        values = found.as_dict()
        writer.writerow([scope, key, *("" if values[n] is None else values[n] for n in names)])
    return out.getvalue()


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def cell(found: Figures, name: str) -> str:
    value = found.as_dict()[name]
    if name.endswith("_seconds"):
        return _duration(value)
    return _number(value)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"


# -- the command -------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    report = commands.add_parser("report", help="the director's figures for a period")
    report.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                        help="first day, YYYY-MM-DD")  # fmt: skip
    report.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                        help="last day, YYYY-MM-DD (included)")  # fmt: skip
    report.add_argument("--department", help="only contacts of this department")
    report.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    report.add_argument(
        "--timezone", default="America/Sao_Paulo", help="the city's time zone, for days"
    )
    report.add_argument("--output", help="write to this file instead of the terminal")
    report.add_argument("--operator", help="who runs this, for the audit log (default: OS user)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("--to is before --from", file=sys.stderr)
        return 2
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"--timezone: unknown time zone {args.timezone!r}", file=sys.stderr)
        return 2
    text = asyncio.run(produce(settings, args, zone))
    if text is None:
        return 1
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"--output {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"report written to {args.output}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


async def produce(settings: Settings, args: argparse.Namespace, zone: ZoneInfo) -> str | None:
    """The report's text, and its audit line; None when the database cannot be opened."""
    try:
        store = await open_admin_store(settings.database)
    except (StoreError, OSError) as exc:
        print(f"database {settings.database_shown}: {exc}", file=sys.stderr)
        return None
    try:
        records = await store.contacts(*window(args.start, args.end, zone))
        report = build(records, args.start, args.end, zone, now=time.time(),
                       department=args.department)  # fmt: skip
        text = render(report, args.format)
        detail = f"from={args.start}; to={args.end}; format={args.format}"
        await store.audit(AuditEntry(time.time(), args.operator or os_user(), "report", "",
                                     detail + (f"; department={args.department}"
                                               if args.department else "")))  # fmt: skip
    finally:
        await store.close()
    return text


def render(report: Report, fmt: str) -> str:
    if fmt == "html":
        from bridge.report_html import as_html  # noqa: PLC0415 - matplotlib only here

        return as_html(report)
    return {"csv": as_csv, "json": as_json}.get(fmt, as_table)(report)
