"""The correctness check of every scenario: nothing lost, nothing duplicated, nothing out of
order within a conversation, nothing delivered to another conversation. Pure; unit-tested."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    expected: int
    delivered: int  # distinct expected messages that arrived
    lost: int
    duplicated: int  # arrivals beyond the first of the same message
    reordered: int  # arrivals older than one already seen in their conversation
    misrouted: int  # arrivals at another conversation than the one they belong to
    unexpected: int  # arrivals of messages that were never sent
    examples: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.duplicated or self.reordered or self.misrouted or self.unexpected
        )

    def describe(self) -> str:
        if self.ok:
            return f"ok: {self.delivered}/{self.expected} delivered once, in order"
        parts = [
            f"{name} {value}"
            for name, value in (
                ("lost", self.lost),
                ("duplicated", self.duplicated),
                ("reordered", self.reordered),
                ("misrouted", self.misrouted),
                ("unexpected", self.unexpected),
            )
            if value
        ]
        shown = "; ".join(self.examples[:5])
        return f"FAILED: {', '.join(parts)} of {self.expected} (e.g. {shown})"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "examples": list(self.examples[:10])}


def check(
    expected: Mapping[str, Sequence[int]], arrivals: Iterable[tuple[str, str, int]]
) -> Verdict:
    """`expected`: per lane, the sequence numbers in the order they were sent.
    `arrivals`, in arrival order: (lane it arrived at, lane it names, sequence number)."""
    wanted = {lane: set(seqs) for lane, seqs in expected.items()}
    position = {lane: {s: i for i, s in enumerate(seqs)} for lane, seqs in expected.items()}
    seen: dict[str, set[int]] = defaultdict(set)
    last: dict[str, int] = {}
    duplicated = reordered = misrouted = unexpected = 0
    examples: list[str] = []
    for at, named, seq in arrivals:
        if at != named:
            misrouted += 1
            examples.append(f"{named}#{seq} arrived at {at}")
            continue
        if seq not in wanted.get(named, ()):
            unexpected += 1
            examples.append(f"{named}#{seq} was never sent")
            continue
        if seq in seen[named]:
            duplicated += 1
            examples.append(f"{named}#{seq} arrived twice")
            continue
        seen[named].add(seq)
        rank = position[named][seq]
        if rank < last.get(named, -1):
            reordered += 1
            examples.append(f"{named}#{seq} arrived after a later message")
        last[named] = max(rank, last.get(named, -1))
    total = sum(len(s) for s in wanted.values())
    delivered = sum(len(seen[lane] & s) for lane, s in wanted.items())
    lost = total - delivered
    if lost:
        missing = next(
            f"{lane}#{min(s - seen[lane])} never arrived"
            for lane, s in wanted.items()
            if s - seen[lane]
        )
        examples.insert(0, missing)
    return Verdict(
        total, delivered, lost, duplicated, reordered, misrouted, unexpected, tuple(examples[:10])
    )
