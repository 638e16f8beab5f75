"""scrapli sessions to nodes: lab nodes through the runtime's attach command, real routers over SSH
with their scrapli platform driver; both behind the same `send`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from scrapli import Scrapli
from scrapli.driver.generic import GenericDriver
from scrapli.exceptions import ScrapliException

PROMPT = r"^[\w.-]{1,63}[#>$]\s*$"
SHELL_SUFFIX = '; echo "labkit-rc=$?"'


class SessionLost(Exception):
    """A session broke or timed out in the middle of a command; it is closed and the next command opens a
    new one, so a check that retries gets a fresh session."""


class _Opened:
    """A scrapli driver opened on first use, behind a lock; a broken one is dropped; `close` is idempotent."""

    node: str
    timeout: float

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.driver = None

    def _open(self):
        raise NotImplementedError

    def _command(self, command: str) -> str:
        return command

    def send(self, command: str, timeout: float | None = None) -> str:
        with self.lock:
            try:
                if self.driver is None:
                    self.driver = self._open()
                return self.driver.send_command(self._command(command), timeout_ops=timeout or self.timeout).result
            except ScrapliException as exc:
                self._drop()
                raise SessionLost(f"{self.node}: session lost during `{command}` ({type(exc).__name__}: {exc}); "
                                  "a new one opens on the next command") from exc

    def _drop(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            with contextlib.suppress(ScrapliException, OSError):  # already broken: nothing more to close
                driver.close()

    def close(self) -> None:
        with self.lock:
            self._drop()


class Session(_Opened):
    """One interactive session (vtysh or shell) on one node, opened on first use."""

    def __init__(self, node: str, open_cmd: list[str], shell: bool, timeout: float = 60):
        super().__init__()
        self.node = node
        self.shell = shell
        self.open_cmd = open_cmd
        self.timeout = timeout

    def _open(self) -> GenericDriver:
        driver = GenericDriver(host=self.node, transport="system", auth_bypass=True, comms_prompt_pattern=PROMPT,
                               timeout_ops=self.timeout, timeout_transport=0, timeout_socket=30)
        driver.transport.open_cmd = self.open_cmd  # the system transport runs this instead of ssh
        driver.open()
        if not self.shell:
            driver.send_command("terminal length 0")
        return driver

    def _command(self, command: str) -> str:
        return command + SHELL_SUFFIX if self.shell else command


class DeviceSession(_Opened):
    """One SSH session to a real router through its scrapli platform driver, opened on first use."""

    def __init__(self, node: str, connection: dict, timeout: float = 60):
        super().__init__()
        self.node = node
        self.connection = connection  # Scrapli(**connection): host, port, platform, credentials
        self.timeout = timeout

    def _open(self):
        driver = Scrapli(**self.connection, timeout_ops=self.timeout)
        driver.open()
        return driver


SessionLike = Session | DeviceSession


class Sessions:
    """Every node's sessions, by (node, session name), made on first use by `factory(node, name)`."""

    def __init__(self, factory: Callable[[str, str], SessionLike]):
        self.factory = factory
        self.sessions: dict[tuple[str, str], SessionLike] = {}
        self.lock = threading.Lock()

    def get(self, node: str, name: str) -> SessionLike:
        with self.lock:
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

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()


def lab_sessions(attach: Callable[[str, list[str]], list[str]], programs: dict[str, str]) -> Sessions:
    """Lab nodes: each session name runs a program (vtysh, sh) through the runtime's attach command."""
    return Sessions(lambda node, name: Session(node, attach(node, [programs[name]]), shell=programs[name] == "sh"))
