"""The report as one self-contained HTML page a director opens in a browser: the figures,
the tables, and three charts drawn with matplotlib as inline SVG (no JavaScript, nothing
fetched from the internet)."""

from __future__ import annotations

import html
import io
from typing import Any

from bridge.report import BOT_GOAL, COLUMNS, Figures, Report, cell

STACK = (  # contacts per day, stacked, in this order
    ("bot_resolved", "resolved by the bot", "#2e7d32"),
    ("answered", "answered by an agent", "#1565c0"),
    ("without_answer", "left without an answer", "#c62828"),
    ("abandoned_in_bot", "left the bot", "#9e9e9e"),
)


def as_html(report: Report) -> str:
    total = report.total
    share = "–" if total.bot_share is None else f"{total.bot_share:.0%}"
    title = f"Contacts from {report.start} to {report.end}"
    if report.department:
        title += f" — {report.department}"
    cards = [
        ("Contacts", str(total.contacts)),
        ("Resolved by the bot", f"{total.bot_resolved} ({share}; goal {BOT_GOAL:.0%})"),
        ("Handed off", str(total.handed_off)),
        ("Left without an answer", str(total.without_answer)),
        ("First answer, median / 90%", f"{cell(total, 'wait_median_seconds')} / "
         f"{cell(total, 'wait_p90_seconds')}"),
        ("Satisfaction", f"{cell(total, 'survey_average')} ({total.survey_answers} answers)"),
    ]  # fmt: skip
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class=zone>Time zone {html.escape(report.timezone)}."
        " Contacts counted on the day they started.</p>",
        '<div class="cards">' + "".join(
            f"<div><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>" for k, v in cards
        ) + "</div>",
        "<h2>Contacts per day</h2>", _per_day_chart(report),
        "<h2>Time to the first agent answer, per department</h2>", _wait_chart(report),
        "<h2>Satisfaction survey</h2>", _survey_chart(total),
        "<h2>Per day</h2>", _table("day", report.days),
        "<h2>Per department</h2>", _table("department", report.departments),
        "</body></html>",
    ]  # fmt: skip
    return "\n".join(parts)


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:70rem}"
    ".cards{display:flex;flex-wrap:wrap;gap:1rem}.cards div{border:1px solid #ddd;"
    "border-radius:.5rem;padding:.8rem 1rem;min-width:11rem}.cards b{display:block;"
    "font-size:1.4rem}.cards span{color:#555}table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border-bottom:1px solid #eee;padding:.25rem .6rem;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.zone{color:#555}figure{margin:0}"
)


def _table(title: str, rows: dict[str, Figures]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(key)}</td>"
        + "".join(f"<td>{html.escape(cell(found, name))}</td>" for name, _ in COLUMNS)
        + "</tr>"
        for key, found in rows.items()
    )
    return f"<table><tr><th>{html.escape(title)}</th>{head}</tr>{body}</table>"


def _figure(width: float = 9.0, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure  # noqa: PLC0415 - heavy; only for --format html

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def _svg(figure: Any, label: str) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    return f'<figure role="img" aria-label="{html.escape(label)}">{svg}</figure>'


def _per_day_chart(report: Report) -> str:
    figure, axes = _figure()
    days = list(report.days)
    bottom = [0] * len(days)
    for key, label, colour in STACK:
        values = [report.days[d].as_dict()[key] for d in days]
        axes.bar(days, values, bottom=bottom, label=label, color=colour)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("contacts")
    axes.legend(loc="upper left", fontsize="small", frameon=False)
    axes.tick_params(axis="x", labelrotation=60, labelsize="small")
    return _svg(figure, "contacts per day by outcome")


def _wait_chart(report: Report) -> str:
    figure, axes = _figure()
    names = list(report.departments) or ["(none)"]
    minutes = [
        [(getattr(report.departments[n], attr) or 0) / 60 if n in report.departments else 0
         for n in names]
        for attr in ("wait_median_seconds", "wait_p90_seconds")
    ]  # fmt: skip
    positions = range(len(names))
    axes.bar([p - 0.2 for p in positions], minutes[0], width=0.4, label="median",
             color="#1565c0")  # fmt: skip
    axes.bar([p + 0.2 for p in positions], minutes[1], width=0.4, label="90% within",
             color="#90caf9")  # fmt: skip
    axes.set_xticks(list(positions), names, fontsize="small")
    axes.set_ylabel("minutes")
    axes.legend(fontsize="small", frameon=False)
    return _svg(figure, "time to the first agent answer per department")


def _survey_chart(total: Figures) -> str:
    figure, axes = _figure(6.0, 2.8)
    scores = [str(s) for s in range(1, 6)]
    axes.bar(scores, [total.survey_scores.get(s, 0) for s in scores], color="#6a1b9a")
    axes.set_xlabel("score")
    axes.set_ylabel("answers")
    return _svg(figure, "survey answers by score")
