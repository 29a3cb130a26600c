"""Login throttling policy: N failures within a window lock the account until the window passes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def recent(self, failures: list[datetime], now: datetime) -> list[datetime]:
        return [f for f in failures if f > now - self.window]

    def retry_after(self, failures: list[datetime], now: datetime) -> int | None:
        """Seconds to wait, or None when a login may be attempted."""
        recent = sorted(self.recent(failures, now))
        if len(recent) < self.max_failures:
            return None
        # Locked until the oldest failure that keeps the count at the limit leaves the window.
        unlock = recent[-self.max_failures] + self.window
        return max(1, int((unlock - now).total_seconds() + 0.999))
