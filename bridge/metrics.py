"""Prometheus metrics at /metrics (issue #10 §2), with prometheus-client.

Three sources: counters moved by the bridge as things happen (webhooks, deliveries,
remote calls, worker restarts), a snapshot read from the database at each scrape (outbox
depth and age, conversations by state), and the statistics the database already keeps
per day (handoffs per department, contacts the bot resolved, survey scores), summed.
No label ever holds a phone number, a name or a message: endpoints are reduced to a
whitelist of path words, reasons to codes."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from yarl import URL

from bridge.core.storage import (
    Applied,
    Bury,
    Event,
    Failed,
    Finish,
    Hold,
    Outcome,
    Reschedule,
    Settlement,
)

# Path words that may appear in an endpoint label; every other segment is an id.
PATH_WORDS = frozenset(
    {
        "api",
        "v1",
        "info",
        "livechat",
        "visitor",
        "room",
        "message",
        "messages",
        "messages.history",
        "config",
        "room.close",
        "room.saveInfo",
        "room.closeByUser",
        "department",
        "priorities",
        "rooms",
        "upload",
        "file-upload",
        "media",
        "whatsapp_business",
        "attachments",
        "integrations",
        "login",
        "me",
    }
)
VERSION = re.compile(r"^v\d+\.\d+$")
CODE = re.compile(r"^\((\d+)\)")


@dataclass
class Snapshot:
    """What the database said at the last scrape."""

    backlog: list[tuple[str, str, int, float | None]] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    statistics: dict[tuple[str, str], int] = field(default_factory=dict)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    taken_at: float = 0.0


class Metrics:
    def __init__(self, remotes: dict[str, str]) -> None:
        """`remotes`: host:port -> the name calls to it are labelled with."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._remotes = remotes
        self.snapshot = Snapshot()
        r = self.registry
        self.webhooks = Counter(
            "bridge_webhooks_received", "Webhook deliveries received", ["source"], registry=r
        )
        self.rejected_deliveries = Counter(
            "bridge_webhooks_rejected",
            "Webhook deliveries refused (unauthorized, too large)"
            " or answered 5xx (the sender retries)",
            ["source", "reason"],
            registry=r,
        )
        self.rejected_items = Counter(
            "bridge_items_rejected",
            "Signed webhook items set aside (kept for audit), by reason",
            ["source", "reason"],
            registry=r,
        )
        self.deduplicated = Counter(
            "bridge_events_deduplicated",
            "Events already seen (Meta's or Rocket.Chat's retries)",
            ["source"],
            registry=r,
        )
        self.deliveries = Counter(
            "bridge_deliveries",
            "Outbox delivery attempts by result",
            ["destination", "result"],
            registry=r,
        )
        self.dead_letters = Counter(
            "bridge_dead_letters",
            "Deliveries given up, by reason",
            ["destination", "reason"],
            registry=r,
        )
        self.remote_seconds = Histogram(
            "bridge_remote_call_seconds",
            "Calls to Meta and Rocket.Chat, by endpoint",
            ["remote", "method", "endpoint", "status"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        r.register(_SnapshotCollector(self))
        # Labelled children looked up once: prometheus-client's labels() validates and
        # locks at every call, on the path of every relayed message. Every label value is
        # from a bounded set, so these stay small.
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # -- what happens (bridge.core.observe.Observer) -------------------------------------

    def accepted(self, events: Sequence[Event], results: Sequence[Applied | Failed]) -> None:
        for event, result in zip(events, results, strict=True):
            if isinstance(result, Applied) and result.outcome is Outcome.DUPLICATE:
                source = event.seen.source if event.seen else "other"
                self._child(self.deduplicated, source).inc()

    def rejected(self, source: str, reason: str) -> None:
        self.rejected_items.labels(source, reason_label(reason)).inc()

    def webhook(self, source: str, status: int) -> None:
        """One delivery to /webhooks/<source> and how it was answered."""
        self._child(self.webhooks, source).inc()
        if status in (401, 403):
            self.rejected_deliveries.labels(source, "unauthorized").inc()
        elif status == 413:
            self.rejected_deliveries.labels(source, "too large").inc()
        elif status >= 500:
            self.rejected_deliveries.labels(source, "unavailable").inc()

    def settled(self, settlement: Settlement) -> None:
        change, destination = settlement.change, settlement.claim.row.destination
        if isinstance(change, Finish):
            result = "delivered"
        elif isinstance(change, Reschedule):
            result = "retry"
        elif isinstance(change, Hold):
            result = "held"
        elif isinstance(change, Bury):
            result = "dead_letter"
            self.dead_letters.labels(destination, reason_label(change.error)).inc()
        else:  # pragma: no cover - RowChange is closed
            result = "other"
        self._child(self.deliveries, destination, result).inc()

    def client_middleware(self) -> aiohttp.ClientMiddlewareType:
        """Times every request of the bridge's HTTP client session, to its answer's headers.
        A client middleware (one coroutine around the request), not a TraceConfig:
        aiohttp's tracing awaits a signal at every step of every request, which cost about
        a fifth of a Rocket.Chat call's client CPU (measured on the 2-core machine: 127 µs
        per livechat/message with a TraceConfig, 102 µs with none)."""

        async def timed(
            request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
        ) -> aiohttp.ClientResponse:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except Exception:
                self._observe(started, request.method, request.url, "error")
                raise
            self._observe(started, request.method, request.url, str(response.status))
            return response

        return timed

    def _observe(self, started: float, method: str, url: URL, status: str) -> None:
        elapsed = time.perf_counter() - started
        remote = self._remotes.get(f"{url.host}:{url.port}", "media")
        label = status if status == "error" else f"{status[0]}xx"
        timer = self._child(self.remote_seconds, remote, method, endpoint_label(url.path), label)
        timer.observe(elapsed)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@functools.lru_cache(maxsize=1024)
def endpoint_label(path: str) -> str:
    """`/api/v1/livechat/visitor/wa-3f…` -> `/api/v1/livechat/visitor/:id`; a file name or
    any other word outside PATH_WORDS never reaches a label. Cached: every request of the
    HTTP clients is labelled, and almost every path repeats (each relayed message posts to
    the same one); bounded, as paths with an id in them do not."""
    parts = []
    for segment in path.strip("/").split("/")[:6]:
        if segment in PATH_WORDS or VERSION.match(segment):
            parts.append(segment)
        elif not parts or parts[-1] != ":id":
            parts.append(":id")
    return "/" + "/".join(parts)


def reason_label(reason: str) -> str:
    """A bounded label from an error text: Graph's code, the HTTP status, or the first
    word (ids and numbers dropped)."""
    if match := CODE.match(reason):
        return f"code {match.group(1)}"
    if reason.startswith("HTTP "):
        return reason[:8]
    head = reason.split(":", 1)[0].lower()
    words = re.sub(r"[^a-z_ -]", "", head).split()
    return " ".join(words[:3])[:40] or "other"


class _SnapshotCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snap = self._metrics.snapshot
        yield from _outbox(snap)
        states = GaugeMetricFamily(
            "bridge_conversations", "Conversations by state", labels=["state"]
        )
        for state, count in sorted(snap.states.items()):
            states.add_metric([state], count)
        yield states
        yield from _statistics(snap.statistics)
        yield from _workers(snap.workers)

    def describe(self) -> Iterable[Metric]:
        return []


def _outbox(snap: Snapshot) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "bridge_outbox_messages",
        "Outbox rows by destination and state (pending, held, dead)",
        labels=["destination", "state"],
    )
    oldest = GaugeMetricFamily(
        "bridge_outbox_oldest_age_seconds",
        "Age of the oldest pending row per destination",
        labels=["destination"],
    )
    for destination, state, count, created in snap.backlog:
        depth.add_metric([destination, state], count)
        if state == "pending" and created is not None:
            oldest.add_metric([destination], max(0.0, snap.taken_at - created))
    yield depth
    yield oldest


def _statistics(stats: dict[tuple[str, str], int]) -> Iterator[Metric]:
    every = CounterMetricFamily(
        "bridge_statistic",
        "The daily statistics of the database, summed (see README)",
        labels=["name", "label"],
    )
    handoffs = CounterMetricFamily(
        "bridge_handoffs", "Conversations handed to a department", labels=["department"]
    )
    surveys = CounterMetricFamily(
        "bridge_survey_answers", "Survey answers by score", labels=["score"]
    )
    for (name, label), value in sorted(stats.items()):
        every.add_metric([name, label], value)
        if name == "handoff":
            handoffs.add_metric([label], value)
        elif name == "survey_score":
            surveys.add_metric([label], value)
    resolved = stats.get(("contact_resolved", ""), 0)
    resolved -= stats.get(("contact_resolved_then_handoff", ""), 0)
    yield every
    yield handoffs
    yield surveys
    yield CounterMetricFamily(
        "bridge_bot_resolved_contacts",
        "Contacts the bot resolved without a person",
        value=max(0, resolved),
    )


def _workers(workers: dict[str, dict[str, Any]]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "bridge_worker_up", "1 while a background worker is healthy", labels=["worker"]
    )
    restarts = CounterMetricFamily(
        "bridge_worker_restarts", "Restarts after a crash", labels=["worker"]
    )
    for name, view in sorted(workers.items()):
        up.add_metric([name], 1.0 if view["healthy"] else 0.0)
        restarts.add_metric([name], view["restarts"])
    yield up
    yield restarts
