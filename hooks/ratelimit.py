"""Rate limits for abuse-prone operations: token buckets keyed by client, account or anything.

A :class:`RateLimiter` holds one bucket per key in this process: ``count`` actions at once,
refilled at ``count`` per ``seconds``. Over the limit, :meth:`RateLimiter.take` raises
:class:`TooManyRequests` (429 with ``Retry-After``). Buckets live in memory and are bounded
(the least recently used key is forgotten first), so a flood of distinct keys costs a fixed
amount of memory; with several web processes each enforces its own limit.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from eventonight.hooks.errors import TooManyRequests

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` actions per ``seconds``; written ``"count/seconds"`` in settings, e.g. ``"10/60"``."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
            raise ValueError(f"a rate is 'count/seconds' with both above zero, e.g. '10/60'; got {text!r}")
        return cls(int(match.group(1)), float(match.group(2)))


class RateLimiter:
    """Token buckets per key, bounded to ``max_keys`` keys (least recently used forgotten first)."""

    def __init__(self, rate: Rate, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self._clock = clock
        # key -> (tokens left, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.rate.count), now))
        return min(float(self.rate.count), tokens + (now - at) * self.rate.count / self.rate.seconds)

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may act again, or None when it may act now (nothing is taken)."""
        tokens = self._tokens(key, self._clock())
        if tokens >= 1:
            return None
        return max(1, math.ceil((1 - tokens) * self.rate.seconds / self.rate.count))

    def take(self, key: str, message: str = "too many requests") -> None:
        """Count one action of ``key``; raise :class:`TooManyRequests` (nothing counted) when over."""
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens < 1:
            wait = max(1, math.ceil((1 - tokens) * self.rate.seconds / self.rate.count))
            raise TooManyRequests(f"{message}; try again in {wait} s", wait)
        self._buckets[key] = (tokens - 1, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
