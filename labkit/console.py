"""Progress lines on the console: `[  12.3s] message`, flushed at once."""

from __future__ import annotations

import sys
import time


class Console:
    def __init__(self, quiet: bool = False):
        self.started = time.monotonic()
        self.quiet = quiet

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {message}", file=sys.stderr, flush=True)
