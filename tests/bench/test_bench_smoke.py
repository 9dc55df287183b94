"""The benchmark harness: its correctness checker, and one tiny run end to end.

No timing is asserted: the figures depend on the machine; only that the harness works and
that its checks catch what they are meant to catch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from bench import scenarios, series
from bench.checks import check
from bench.loadgen import Job
from bench.payloads import parse_tagged, tagged

ROOT = Path(__file__).resolve().parents[2]
SENT = {"a": [0, 1, 2], "b": [0, 1]}


def arrivals(*items: tuple[str, int]) -> list[tuple[str, str, int]]:
    return [(lane, lane, seq) for lane, seq in items]


def test_everything_once_and_in_order_is_ok() -> None:
    verdict = check(SENT, arrivals(("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)))
    assert verdict.ok and verdict.delivered == 5
    assert verdict.describe().startswith("ok")


def test_a_lost_message_fails() -> None:
    verdict = check(SENT, arrivals(("a", 0), ("a", 2), ("b", 0), ("b", 1)))
    assert not verdict.ok
    assert (verdict.lost, verdict.reordered) == (1, 0)
    assert "a#1 never arrived" in verdict.describe()


def test_a_duplicate_fails() -> None:
    verdict = check(SENT, arrivals(("a", 0), ("a", 1), ("a", 1), ("a", 2), ("b", 0), ("b", 1)))
    assert not verdict.ok and verdict.duplicated == 1 and verdict.lost == 0


def test_reordering_within_a_conversation_fails() -> None:
    verdict = check(SENT, arrivals(("a", 1), ("a", 0), ("a", 2), ("b", 0), ("b", 1)))
    assert not verdict.ok and verdict.reordered == 1 and verdict.lost == 0


def test_interleaving_conversations_is_not_reordering() -> None:
    assert check(SENT, arrivals(("b", 0), ("a", 0), ("a", 1), ("b", 1), ("a", 2))).ok


def test_a_message_in_the_wrong_conversation_or_never_sent_fails() -> None:
    wrong_room = [("b", "a", 0), *arrivals(("a", 1), ("a", 2), ("b", 0), ("b", 1))]
    assert check(SENT, wrong_room).misrouted == 1
    invented = arrivals(("a", 0), ("a", 1), ("a", 2), ("a", 7), ("b", 0), ("b", 1))
    verdict = check(SENT, invented)
    assert not verdict.ok and verdict.unexpected == 1


def test_tags_survive_the_agent_prefix() -> None:
    assert parse_tagged("*Ana Souza*: " + tagged("c3", "5511900000001", 42)) == (
        "c3",
        "5511900000001",
        42,
    )
    assert parse_tagged("📋 Resumo do atendimento") is None


@pytest.mark.timeout(300)
def test_tiny_run_end_to_end(tmp_path: Path) -> None:
    run = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench", "--tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert result["failures"] == []
    inbound = result["bridge"]["citizen_to_agent"]
    for step in [inbound["fixed"], *inbound["steps"]]:
        assert step["delivery"]["check"]["ok"]
        assert step["delivery"]["delivered"] == step["messages"]
    assert result["bridge"]["agent_to_citizen"]["fixed"]["delivery"]["check"]["ok"]
    assert result["baseline"]["forward"]["fixed"]["delivery"]["check"]["ok"]
    assert result["stored"]["burst"]["check"]["ok"]
    bot = result["bot"]
    assert bot["status"] == "ok" or bot["status"].startswith("skipped")
    if bot["status"] == "ok":
        assert all(step["check"]["ok"] for step in bot["steps"])
    assert {t["figure"] for t in result["targets"]} >= {"ingest_rate", "relay_p99_ms"}
    markdown = (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Bridge benchmark") and "Correctness: OK" in markdown


def test_the_load_generator_alternates_each_conversation_between_replicas() -> None:
    requests = [[i * 0.01, lane, "{}", {}] for i, lane in enumerate(["a", "b", "a", "b", "a"])]
    job = Job.load({"urls": ["http://127.0.0.1:1/x", "http://127.0.0.1:2/y"],
                    "requests": requests})  # fmt: skip
    assert job.target == [0, 1, 1, 0, 0]  # a: 0, 1, 0; b starts on the other replica
    assert [job.targets[t][1] for t in job.target] == [1, 2, 2, 1, 1]
    assert job.raw[1].startswith(b"POST /y HTTP/1.1\r\nHost: 127.0.0.1:2\r\n")
    single = Job.load({"url": "http://127.0.0.1:1/x", "requests": requests})
    assert single.target == [0] * 5 and single.clock is None


def test_a_ratio_just_under_a_target_never_reads_as_meeting_it() -> None:
    """Full run of 17:52 UTC: 1,393.6 / 2,788.9 = 0.4997 was shown (and judged) as 0.5."""
    bridge = {
        "citizen_to_agent": {
            "ingest": {"max_ack_rate": 2746.5},
            "relay": {"sustained_rate": 1393.6, "sustained_rate_on_grid": 1393.6},
        }
    }
    base = {
        "ack": {"ingest": {"max_ack_rate": 19365.5, "saturated": True}},
        "forward": {
            "relay": {"sustained_rate": 2788.9, "sustained_rate_on_grid": 2788.9, "saturated": True}
        },
    }
    found = scenarios.ratios(bridge, base)
    assert found["relay"] == 0.499
    assert found["ingest"] == 0.141


def _step(offered: float, *, acks: bool = True, delivery: bool | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"offered_rate": offered, "keeps_up": acks}
    if delivery is not None:
        step["delivery"] = {"keeps_up": delivery, "rate": offered * 0.98}
    return step


def test_a_refined_step_lands_between_the_last_rate_kept_up_with_and_the_next() -> None:
    relay = [_step(700, delivery=True), _step(1400, delivery=True),
             _step(2800, delivery=False), _step(3920, acks=False, delivery=False)]  # fmt: skip
    assert series.gap(relay, by_delivery=True) == 1980.0  # sqrt(1400 * 2800), to 10/s
    relay.append(_step(1980, delivery=True))
    assert series.gap(relay, by_delivery=True) == 2350.0
    # Judged by the acknowledgements, the same series kept up at 2,800.
    assert series.gap(relay, by_delivery=False) == 3310.0  # between 2,800 and 3,920


def test_nothing_to_refine_when_every_step_or_none_kept_up_or_the_gap_is_closed() -> None:
    assert series.gap([_step(350), _step(700)], by_delivery=False) is None
    assert series.gap([_step(350, acks=False)], by_delivery=False) is None
    assert series.gap([_step(1000), _step(1010, acks=False)], by_delivery=False) is None


def test_the_relay_ratio_is_also_reported_from_the_profiles_rates_alone() -> None:
    kept = {"keeps_up": True, "rate": 1372.0, "latency": {}}
    refined = {"offered_rate": 1980, "delivery": {**kept, "rate": 1950.0}, "refined": True}
    steps = [{"offered_rate": 1400, "delivery": kept}, refined]
    found = series.delivered(steps)
    assert (found["sustained_rate"], found["sustained_rate_on_grid"]) == (1950.0, 1372.0)


def test_a_step_run_again_counts_by_its_second_run_only() -> None:
    """A step that did not keep up is run once more (bench.series.Rising): the first run
    stays in the list for the report, and no figure is taken from it."""
    hiccup = {**_step(2800, delivery=False), "superseded": True}
    again = _step(2800, delivery=True)
    relay = [_step(1400, delivery=True), hiccup, again, _step(3920, delivery=False)]
    for s in relay:
        s["delivery"].update(latency={}, check={"ok": True})
    # Without the second run, 2,800 would bound the gap from above: 1,980, not 3,310.
    assert series.gap(relay, by_delivery=True) == 3310.0
    assert series.delivered(relay)["sustained_offered"] == 2800
    first = {**_acked(1400, 900.0, ok=False), "superseded": True}
    acks = [_acked(700, 700.0), first, _acked(1400, 1390.0)]
    found = series.acked(acks)
    assert (found["sustained_rate"], found["saturated"]) == (1390.0, False)


def test_only_a_step_that_did_not_keep_up_is_run_again() -> None:
    assert series.kept_up(_step(700, delivery=True), by_delivery=True)
    assert not series.kept_up(_step(700, delivery=False), by_delivery=True)
    assert series.kept_up(_step(700, delivery=False), by_delivery=False)
    assert not series.kept_up(_step(700, acks=False), by_delivery=False)


def _acked(offered: float, rate: float, *, ok: bool = True) -> dict[str, Any]:
    return {**_step(offered, acks=ok), "ack_rate": rate, "all_acknowledged": ok, "ack_latency": {}}


class _Steps:
    """Stands in for series.Rising: `count` steps, each logged as it runs."""

    def __init__(self, name: str, count: int, log: list[str]) -> None:
        self.name, self.left, self.log, self.done = name, count, log, False

    async def advance(self) -> None:
        self.log.append(self.name)
        self.left -= 1
        self.done = self.left == 0


async def test_two_series_take_turns_and_the_longer_one_goes_on_alone() -> None:
    log: list[str] = []
    both = [_Steps("bridge", 2, log), _Steps("forwarder", 4, log)]
    await series.in_turns(cast(list[series.Rising], both))
    assert log == ["bridge", "forwarder", "bridge", "forwarder", "forwarder", "forwarder"]
