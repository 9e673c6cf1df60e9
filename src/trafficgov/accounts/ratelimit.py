"""A small in-process limiter of failed logins (per username and per client address)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    """Allows `attempts` failures per `window` seconds for a key; successes do not count."""

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        now = now if now is not None else time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._failures[key]
                while failures and failures[0] < now - self.window:
                    failures.popleft()
                if len(failures) >= self.attempts:
                    return True
        return False

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = now if now is not None else time.monotonic()
        with self._lock:
            for key in keys:
                self._failures[key].append(now)
