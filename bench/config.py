"""Run profiles (tiny / quick / full), shared secrets and the targets reported against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Throwaway values shared by the fakes, the bridge, the baseline and the load generator.
APP_SECRET = "bench-app-secret"  # noqa: S105
ACCESS_TOKEN = "bench-access-token"  # noqa: S105
VERIFY_TOKEN = "bench-verify-token"  # noqa: S105
RC_TOKEN = "bench-rc-webhook-token"  # noqa: S105
RC_USER_ID = "bridgebot-id"
RC_AUTH_TOKEN = "bridgebot-token"  # noqa: S105
PHONE_NUMBER_ID = "100000000000001"
DEPARTMENT = "Atendimento"
AGENT_NAME = "Ana Souza"

# Citizens of each population get their own prefix, so nothing is ever shared by accident.
WARM_PREFIX = "551190"  # conversations already with an agent (scenarios 1-3, 5)
POSTGRES_PREFIX = "554190"  # conversations of the PostgreSQL run (scenarios 1-3 again)
BOT_PREFIX = "552190"  # new citizens walking the bot's flow (scenario 4)
STORED_PREFIX = "553190"  # the 100,000 conversations pre-populated in the store (scenario 6)

# The default flow's walk to an FAQ answer, as a citizen types it.
BOT_WALK = ("oi", "duvidas", "horario")
FAQ_MARKER = "Horários de atendimento"


def wa_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:07d}"


@dataclass(frozen=True)
class Profile:
    name: str
    conversations: int  # warm conversations (rooms open) for scenarios 1-3 and 5
    fixed_rate: float  # the fixed offered rate of the latency figures (msg/s)
    fixed_seconds: float
    rates: tuple[float, ...]  # the rising offered rates (msg/s)
    step_seconds: float
    bot_rates: tuple[float, ...]  # new citizens per second
    bot_seconds: float
    bot_think: float  # seconds a citizen waits between two of its messages
    stored: int  # conversations pre-populated for the memory / start-up figures
    startups: int  # start-ups timed with that store (the median is reported)
    burst: int  # messages sent to the big store's bridge before its RSS is read
    drain_timeout: float  # how long to wait for the last deliveries of a step
    connections: int = 64  # the load generator's keep-alive connections
    extra_steps: int = 3  # rates past the last one (x1.4 each) while the server keeps up
    baseline_extra_steps: int = 8  # the same for the bare-aiohttp acknowledger (the ceiling)
    # The same for the bare forwarder: the quick profile's acknowledger stops at 5,490/s
    # unsaturated (the ingest target was set against that), but a forwarder still
    # keeping up there would leave the relay ratio an upper bound only.
    forwarder_extra_steps: int = 8
    refine: int = 2  # steps between the last rate kept up with and the next (series.gap)


PROFILES = {
    "tiny": Profile(
        name="tiny",
        conversations=8,
        fixed_rate=100,
        fixed_seconds=0.5,
        rates=(100,),
        step_seconds=0.5,
        bot_rates=(4,),
        bot_seconds=1.0,
        bot_think=0.3,
        stored=2_000,
        startups=1,
        burst=16,
        drain_timeout=20,
        connections=8,
        extra_steps=0,
        baseline_extra_steps=0,
        forwarder_extra_steps=0,
        refine=0,
    ),
    "quick": Profile(
        name="quick",
        conversations=100,
        fixed_rate=200,
        fixed_seconds=2,
        rates=(350, 700, 1400, 2800),
        step_seconds=1.0,
        bot_rates=(20,),
        bot_seconds=2,
        bot_think=0.5,
        stored=100_000,
        startups=1,
        burst=200,
        drain_timeout=30,
        extra_steps=2,
        baseline_extra_steps=2,
        forwarder_extra_steps=4,
        # Its rates double from one step to the next: two refined steps still left the
        # sustained rate within 19% (830 or 990/s at 02:49 UTC on 2026-12-07, the bridge's
        # ceiling in between), which alone moved the relay ratio by as much; a third leaves
        # it within 9%, for every series alike.
        refine=3,
    ),
    "full": Profile(
        name="full",
        conversations=1_000,
        fixed_rate=200,
        fixed_seconds=15,
        rates=(250, 350, 500, 700, 1000, 1400, 2000, 2800, 4000, 5600),
        step_seconds=5,
        bot_rates=(10, 20, 40, 80, 160),
        bot_seconds=5,
        bot_think=1.0,
        stored=100_000,
        startups=5,
        burst=1_000,
        drain_timeout=90,
    ),
}


@dataclass(frozen=True)
class Target:
    key: str  # the figure it applies to (see report.FIGURES)
    label: str
    limit: float
    higher_is_better: bool

    def met(self, value: float) -> bool:
        return value >= self.limit if self.higher_is_better else value <= self.limit


TARGETS = (
    Target("ingest_rate", "ingest ≥ 2,000 signed webhooks/s", 2000, True),
    Target("ingest_ratio", "ingest ≥ 40% of bare aiohttp", 0.40, True),
    Target("relay_rate", "citizen → agent ≥ 1,000 msg/s sustained", 1000, True),
    Target("relay_ratio", "citizen → agent ≥ 50% of the bare forwarder", 0.50, True),
    Target("relay_p99_ms", "p99 added latency ≤ 25 ms at 200/s", 25, False),
    Target("agent_keeps_up", "agent → citizen keeps up at 200/s (1 = yes)", 1, True),
    Target("agent_relay_p99_ms", "agent → citizen p99 ≤ 25 ms at 200/s", 25, False),
    Target("stored_rss_mb", "≤ 80 MB RSS with 100,000 conversations", 80, False),
    Target("startup_s", "start-up ≤ 1 s (100,000 conversations)", 1.0, False),
)
