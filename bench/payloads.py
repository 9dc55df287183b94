"""What the load generator sends: tagged texts, signed WhatsApp webhooks, job files.

Every benchmark message carries "<tag> <wa_id> <seq>" in its text, so whatever arrives at
a fake names its phase, its conversation and its place in that conversation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import config
from bridge.sandbox.graph_wire import make_message_payload, meta_dumps, sign, text_message


@dataclass(frozen=True)
class Planned:
    at: float  # offset from the start of the phase, seconds
    lane: str  # the conversation: the citizen's wa_id
    seq: int  # position in the conversation for this phase
    text: str


def tagged(tag: str, lane: str, seq: int) -> str:
    return f"{tag} {lane} {seq}"


def parse_tagged(text: str) -> tuple[str, str, int] | None:
    """(tag, lane, seq) from the last three words of a text; None if it is not ours."""
    words = text.split()
    if len(words) < 3 or not words[-1].isdigit():
        return None
    return words[-3], words[-2], int(words[-1])


def plan(tag: str, rate: float, seconds: float, lanes: Sequence[str]) -> list[Planned]:
    """`rate` x `seconds` messages, evenly spaced, dealt to the lanes in turn."""
    count = max(1, round(rate * seconds))
    return [
        Planned(
            i / rate,
            lanes[i % len(lanes)],
            i // len(lanes),
            tagged(tag, lanes[i % len(lanes)], i // len(lanes)),
        )
        for i in range(count)
    ]


def walk_plan(
    tag: str,
    rate: float,
    seconds: float,
    lanes: Sequence[str],
    *,
    walk: Sequence[str],
    think: float,
) -> list[Planned]:
    """New citizens arriving at `rate`/s, each typing the `walk` with `think` s between."""
    count = max(1, round(rate * seconds))
    items = [
        Planned(i / rate + step * think, lanes[i], step, text)
        for i in range(count)
        for step, text in enumerate(walk)
    ]
    return sorted(items, key=lambda p: p.at)


def whatsapp_body(wa_id: str, text: str, wamid: str) -> tuple[str, str]:
    """A Meta text webhook (Meta's exact serialisation) and its X-Hub-Signature-256."""
    message = text_message(wa_id, text, wamid=wamid)
    body = make_message_payload(
        wa_id=wa_id,
        message=message,
        name=f"Cidadão {wa_id[-4:]}",
        phone_number_id=config.PHONE_NUMBER_ID,
    )
    raw = meta_dumps(body)
    return raw.decode("ascii"), sign(config.APP_SECRET, raw)


def whatsapp_job(
    urls: Sequence[str], tag: str, planned: Sequence[Planned], connections: int
) -> dict[str, Any]:
    """Several `urls`: the requests alternate between them (bench/loadgen.py)."""
    requests = []
    for p in planned:
        body, signature = whatsapp_body(p.lane, p.text, f"wamid.bench.{tag}.{p.lane}.{p.seq}")
        requests.append([p.at, p.lane, body, {"X-Hub-Signature-256": signature}])
    return {"urls": list(urls), "connections": connections, "requests": requests}


def rocketchat_job(
    urls: Sequence[str],
    planned: Sequence[Planned],
    bodies: Sequence[str],
    connections: int,
    clock: Mapping[str, Any],
) -> dict[str, Any]:
    """`clock`: where the load generator announces its start (the fake's history)."""
    requests = [[p.at, p.lane, body, {}] for p, body in zip(planned, bodies, strict=True)]
    headers = {"X-RocketChat-Livechat-Token": config.RC_TOKEN}
    return {"urls": list(urls), "connections": connections, "headers": headers,
            "requests": requests, "clock": dict(clock)}  # fmt: skip


def write_job(path: Path, job: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(job), encoding="utf-8")
    return path


def expected_lanes(planned: Sequence[Planned]) -> dict[str, list[int]]:
    lanes: dict[str, list[int]] = {}
    for p in planned:
        lanes.setdefault(p.lane, []).append(p.seq)
    return lanes
