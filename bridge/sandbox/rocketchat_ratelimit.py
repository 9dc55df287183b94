"""The REST rate limiter (contract rocketchat-omnichannel.md §1.4).

Meteor's RateLimiter: one fixed window per bucket (client IP + route + HTTP method), opened
by the first call. Defaults: 10 calls / 60 s; ``livechat/visitor`` and ``livechat/room``
5 / 60 s. Headers ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (epoch ms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_ms),
        }

    def wait_ms(self) -> float:
        return max(0.0, self.reset_ms - time.time() * 1000)


class RateLimiter:
    def __init__(self) -> None:
        self.window_seconds = 60.0
        self.default_limit = 10
        self.route_limits: dict[str, int] = {"livechat/visitor": 5, "livechat/room": 5}
        self._buckets: dict[tuple[str, str, str], tuple[float, int]] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def hit(self, ip: str, route: str, method: str) -> Verdict:
        limit = self.route_limits.get(route, self.default_limit)
        now = time.time()
        key = (ip, route, method)
        start, count = self._buckets.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, count = now, 0
        count += 1
        self._buckets[key] = (start, count)
        reset_ms = int((start + self.window_seconds) * 1000)
        return Verdict(count <= limit, limit, max(0, limit - count), reset_ms)
