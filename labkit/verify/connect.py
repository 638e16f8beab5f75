"""scrapli sessions to nodes: lab nodes through the runtime's attach command, the same driver API
that talks to real routers over SSH."""

from __future__ import annotations

import threading
from collections.abc import Callable

from scrapli.driver.generic import GenericDriver

PROMPT = r"^[\w.-]{1,63}[#>$]\s*$"
SHELL_SUFFIX = '; echo "labkit-rc=$?"'


class Session:
    """One interactive session (vtysh or shell) on one node, opened on first use."""

    def __init__(self, node: str, open_cmd: list[str], shell: bool, timeout: float = 60):
        self.node = node
        self.shell = shell
        self.open_cmd = open_cmd
        self.timeout = timeout
        self.lock = threading.Lock()
        self.driver: GenericDriver | None = None

    def _open(self) -> GenericDriver:
        driver = GenericDriver(host=self.node, transport="system", auth_bypass=True, comms_prompt_pattern=PROMPT,
                               timeout_ops=self.timeout, timeout_transport=0, timeout_socket=30)
        driver.transport.open_cmd = self.open_cmd  # the system transport runs this instead of ssh
        driver.open()
        if not self.shell:
            driver.send_command("terminal length 0")
        return driver

    def send(self, command: str, timeout: float | None = None) -> str:
        with self.lock:
            if self.driver is None:
                self.driver = self._open()
            full = command + SHELL_SUFFIX if self.shell else command
            response = self.driver.send_command(full, timeout_ops=timeout or self.timeout)
            return response.result

    def close(self) -> None:
        with self.lock:
            if self.driver is not None:
                try:
                    self.driver.close()
                finally:
                    self.driver = None


class Sessions:
    """Every node's sessions, by (node, session name); `attach` maps (node, program) to an open_cmd."""

    def __init__(self, attach: Callable[[str, list[str]], list[str]], programs: dict[str, str]):
        self.attach = attach
        self.programs = programs
        self.sessions: dict[tuple[str, str], Session] = {}
        self.lock = threading.Lock()

    def get(self, node: str, name: str) -> Session:
        with self.lock:
            key = (node, name)
            if key not in self.sessions:
                program = self.programs[name]
                self.sessions[key] = Session(node, self.attach(node, [program]), shell=program == "sh")
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
