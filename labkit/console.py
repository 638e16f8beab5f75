"""What a command tells its user: progress lines on stderr (`[  12.3s] message`, flushed at once), and its result
(a report's table) on stdout. Library code reports through a Console, never by printing."""

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
        """A progress line (left out when quiet)."""
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {message}", file=sys.stderr, flush=True)

    def show(self, result: str) -> None:
        """The command's result, on stdout even when quiet."""
        print(result, flush=True)
