"""A heartbeat to whatever runs a lab (its microVM): a VM that stops answering is declared hung once, so
that the commands waiting on it end with that reason instead of waiting out their own timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from labkit.runtime.base import Runtime

BEAT_EVERY_S = 3.0
HUNG_AFTER_S = 30.0  # a VM under load answers within seconds; this long without an answer is a hang


class Watchdog:
    """Beats `runtime.heartbeat()` in a background thread while in a `with` block; after the beats have
    failed for `hung_after_s` in a row, calls `on_down(reason)` once and stops."""

    def __init__(self, runtime: Runtime, on_down: Callable[[str], None], every_s: float = BEAT_EVERY_S,
                 hung_after_s: float = HUNG_AFTER_S):
        self.runtime = runtime
        self.on_down = on_down
        self.every_s = every_s
        self.hung_after_s = hung_after_s
        self.stopped = threading.Event()
        self.reason: str | None = None
        self.thread = threading.Thread(target=self._beat, name="watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()

    def _beat(self) -> None:
        failing_since: float | None = None
        while not self.stopped.wait(self.every_s):
            problem = self.runtime.heartbeat()
            now = time.monotonic()
            if problem is None:
                failing_since = None
                continue
            failing_since = failing_since or now
            if now - failing_since >= self.hung_after_s:
                self.reason = (f"the lab's VM stopped responding: {problem}, for {now - failing_since:.0f}s "
                               "in a row")
                self.on_down(self.reason)
                return
