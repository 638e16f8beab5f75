"""scrapli sessions to nodes: lab nodes through the runtime's attach command, real routers over SSH
with their scrapli platform driver; both behind the same `send`."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from io import BytesIO

from scrapli import Scrapli
from scrapli.driver.generic import GenericDriver
from scrapli.exceptions import ScrapliException

# a node's prompt, alone on its line; or twice on one line ("hub1# hub1# "): scrapli sends a return as it opens a
# session, and a shell that had not printed its first prompt yet (slow to start on a loaded machine) prints one for
# its start and one for that empty line, the line's echo having come before both (seen in CI): it waits all the same
PROMPT = r"^(?:[\w.-]{1,63}[#>$] +)*[\w.-]{1,63}[#>$]\s*$"
SHELL_SUFFIX = '; echo "labkit-rc=$?"'


# past its own timeout a command's session process is killed and the caller released after this margin
KILL_MARGIN_S = 5.0


class SessionLost(Exception):
    """A session broke or timed out in the middle of a command; it is closed and the next command opens a
    new one, so a check that retries gets a fresh session."""


class TargetDown(Exception):
    """The target as a whole stopped answering (the lab's VM hung or died): no retry can help."""


class _Opened:
    """A scrapli driver opened on first use, behind a lock; a broken one is dropped; `close` is idempotent.

    Every command is bounded: it runs in a worker thread, and when it outlives its timeout by
    KILL_MARGIN_S the session's process (the attach command or ssh) is killed and the caller gets
    SessionLost, whatever the other end does. `abort` ends a command at once with TargetDown.
    """

    node: str
    timeout: float

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.driver = None
        self.aborted: str | None = None
        self.transcript: BytesIO | None = None  # what the session printed during the current command, if kept

    def _printed_last(self) -> str:
        """The end of what the session printed during the current command (why an attach command ended, say)."""
        if self.transcript is None or self.transcript.closed:
            return ""
        return self.transcript.getvalue()[-300:].decode(errors="replace").strip()

    def _new_driver(self):
        raise NotImplementedError

    def _after_open(self, driver) -> None:
        """Commands that prepare a newly opened session (paging off...)."""

    def _command(self, command: str) -> str:
        return command

    def send(self, command: str, timeout: float | None = None) -> str:
        limit = timeout or self.timeout
        if not self.lock.acquire(timeout=limit + KILL_MARGIN_S):
            raise SessionLost(f"{self.node}: the session stayed busy for {limit + KILL_MARGIN_S:.0f}s; "
                              f"`{command}` was not sent")
        try:
            return self._bounded(command, limit)
        finally:
            self.lock.release()

    def _bounded(self, command: str, limit: float) -> str:
        if self.aborted:
            raise TargetDown(self.aborted)
        if self.transcript is not None and not self.transcript.closed:
            self.transcript.seek(0)
            self.transcript.truncate()
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                if self.driver is None:
                    self.driver = self._new_driver()
                    self.driver.open()
                    self._after_open(self.driver)
                outcome["output"] = self.driver.send_command(self._command(command), timeout_ops=limit).result
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"session {self.node}", daemon=True)
        worker.start()
        end = time.monotonic() + limit + KILL_MARGIN_S
        while worker.is_alive() and time.monotonic() < end and not self.aborted:
            worker.join(0.25)
        if worker.is_alive():  # hung: kill its process so the thread ends, and abandon the driver
            self._kill()
            self.driver = None
            if self.aborted:
                raise TargetDown(self.aborted)
            raise SessionLost(f"{self.node}: no answer to `{command}` within {limit:.0f}s; the session was "
                              "killed and a new one opens on the next command")
        error = outcome.get("error")
        if self.aborted:
            self._drop()
            raise TargetDown(self.aborted)
        if isinstance(error, ScrapliException):
            printed = self._printed_last()
            self._drop()
            said = f"; it printed last: {printed!r}" if printed else ""
            raise SessionLost(f"{self.node}: session lost during `{command}` ({type(error).__name__}: {error}{said}); "
                              "a new one opens on the next command") from error
        if isinstance(error, BaseException):
            self._drop()
            raise error
        return str(outcome["output"])

    def _kill(self) -> None:
        """Kill the session's local process (attach command or ssh): a blocked read then ends."""
        pid = getattr(getattr(getattr(self.driver, "transport", None), "session", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def abort(self, reason: str) -> None:
        """End the running command and every later one with TargetDown(reason)."""
        self.aborted = reason
        self._kill()

    def _drop(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            with contextlib.suppress(ScrapliException, OSError):  # already broken: nothing more to close
                driver.close()

    def close(self) -> None:
        if self.lock.acquire(timeout=KILL_MARGIN_S):
            try:
                self._drop()
            finally:
                self.lock.release()
        else:  # a command is still running: end its process instead of waiting for it
            self._kill()


class Session(_Opened):
    """One interactive session (vtysh or shell) on one node, opened on first use. `open_cmd` gives the command
    that opens it when it opens (finding it may ask the runtime: that waits inside the bounded, abortable open,
    never while a lock others need is held)."""

    def __init__(self, node: str, open_cmd: Callable[[], list[str]], shell: bool, timeout: float = 60):
        super().__init__()
        self.node = node
        self.shell = shell
        self.open_cmd = open_cmd
        self.timeout = timeout

    def _new_driver(self) -> GenericDriver:
        self.transcript = BytesIO()  # a lab node's output: no secrets typed in, kept to say why a session ended
        driver = GenericDriver(host=self.node, transport="system", auth_bypass=True, comms_prompt_pattern=PROMPT,
                               timeout_ops=self.timeout, timeout_transport=0, timeout_socket=30,
                               channel_log=self.transcript)
        driver.transport.open_cmd = self.open_cmd()  # the system transport runs this instead of ssh
        return driver

    def _after_open(self, driver: GenericDriver) -> None:
        if not self.shell:
            driver.send_command("terminal length 0")

    def _command(self, command: str) -> str:
        return command + SHELL_SUFFIX if self.shell else command


class DeviceSession(_Opened):
    """One SSH session to a real router through its scrapli platform driver, opened on first use."""

    def __init__(self, node: str, connection: dict, timeout: float = 60):
        super().__init__()
        self.node = node
        self.connection = connection  # Scrapli(**connection): host, port, platform, credentials
        self.timeout = timeout

    def _new_driver(self):
        return Scrapli(**self.connection, timeout_ops=self.timeout)


SessionLike = Session | DeviceSession


class Sessions:
    """Every node's sessions, by (node, session name), made on first use by `factory(node, name)`."""

    def __init__(self, factory: Callable[[str, str], SessionLike]):
        self.factory = factory
        self.sessions: dict[tuple[str, str], SessionLike] = {}
        self.lock = threading.Lock()
        self.aborted: str | None = None

    def get(self, node: str, name: str) -> SessionLike:
        with self.lock:
            if self.aborted:
                raise TargetDown(self.aborted)
            key = (node, name)
            if key not in self.sessions:
                self.sessions[key] = self.factory(node, name)
            return self.sessions[key]

    def reset(self, node: str) -> None:
        """Close a node's sessions; the next command opens fresh ones."""
        with self.lock:
            stale = [self.sessions.pop(key) for key in list(self.sessions) if key[0] == node]
        for session in stale:
            session.close()

    def abort(self, reason: str) -> None:
        """The target stopped answering: end every running command and refuse new ones with `reason`."""
        with self.lock:
            self.aborted = reason
            sessions = list(self.sessions.values())
        for session in sessions:
            session.abort(reason)

    def close(self) -> None:
        with self.lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            session.close()


def lab_sessions(attach: Callable[[str, list[str]], list[str]], programs: dict[str, str]) -> Sessions:
    """Lab nodes: each session name runs a program (vtysh, sh) through the runtime's attach command."""
    return Sessions(lambda node, name: Session(node, lambda: attach(node, [programs[name]]),
                                               shell=programs[name] == "sh"))
