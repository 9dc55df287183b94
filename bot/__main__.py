"""Tools for the flow's author: `python -m bot check|chat|graph FILE`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import chat
from bot.errors import FlowError
from bot.flow import load_flow
from bot.graph import mermaid
from bot.model import NODE_KIND, Flow


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        flow = load_flow(args.file)
    except FlowError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        count = len(exc.errors)
        print(f"{args.file}: {count} error{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    for warning in flow.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.command == "check":
        print(f"{args.file}: OK — {summary(flow)}")
        return 0
    if args.command == "graph":
        sys.stdout.write(mermaid(flow))
        return 0
    return _chat(flow, args.now)


def summary(flow: Flow) -> str:
    kinds = Counter(NODE_KIND[type(node)] for node in flow.nodes.values())
    detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return (
        f"{len(flow.nodes)} nodes ({detail}), {len(flow.keywords)} keyword groups, "
        f"{len(flow.hours)} schedules, {len(flow.departments)} departments"
    )


def _chat(flow: Flow, when: str | None) -> int:
    zone = ZoneInfo(flow.settings.timezone)
    try:
        now = datetime.fromisoformat(when).replace(tzinfo=zone) if when else datetime.now(zone)
    except ValueError:
        print(f"--now: {when!r} is not a date and time like '2026-11-23 14:00'", file=sys.stderr)
        return 2
    return chat.run(flow, sys.stdin, sys.stdout, now, echo=not sys.stdin.isatty())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a flow file (exit 1 on errors)")
    check.add_argument("file")
    talk = commands.add_parser("chat", help="talk to a flow in the terminal")
    talk.add_argument("file")
    talk.add_argument("--now", help="fake clock, e.g. '2026-11-23 14:00' (flow time zone)")
    graph = commands.add_parser("graph", help="print the flow as a Mermaid flowchart")
    graph.add_argument("file")
    return parser


if __name__ == "__main__":
    sys.exit(main())
