"""Where commands of the lab run: this kernel (LocalExecutor) or a microVM guest (AgentExecutor)."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from labkit.errors import LabkitError
from labkit.runtime import agent


@dataclass(frozen=True)
class Completed:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Executor(Protocol):
    """Runs commands in the lab's kernel. `group` names the lab's control group the command joins (where its CPU
    time is counted and whence it is ended), `env` what the command gets in its environment besides the usual."""

    def run(self, argv: list[str], timeout: float = 60, stdin: str | None = None, *, group: str | None = None,
            env: dict[str, str] | None = None) -> Completed: ...

    def attach_argv(self, argv: list[str], *, group: str | None = None,
                    env: dict[str, str] | None = None) -> list[str]:
        """A local command whose terminal is an interactive session running `argv` in the lab's kernel."""
        ...


class LocalExecutor:
    """This kernel: commands run as the agent of a microVM runs them."""

    def run(self, argv: list[str], timeout: float = 60, stdin: str | None = None, *, group: str | None = None,
            env: dict[str, str] | None = None) -> Completed:
        done = agent.run(argv, timeout, stdin, group, env)
        return Completed(done["rc"], done["stdout"], done["stderr"])

    def attach_argv(self, argv: list[str], *, group: str | None = None,
                    env: dict[str, str] | None = None) -> list[str]:
        return ["env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv]


class AgentExecutor:
    """Runs commands through the labkit agent inside a microVM, reached on a loopback TCP port; each request
    carries the agent's token, read from `token_file` (the VM's, readable by root only; None: no token)."""

    def __init__(self, port: int, token_file: Path | None = None, host: str = "127.0.0.1"):
        self.host, self.port, self.token_file = host, port, token_file
        self._token: str | None = None
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.abandoned: str | None = None

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait for its reply line, `timeout` seconds at most in all."""
        if self.abandoned:
            raise LabkitError(self.abandoned)
        end = time.monotonic() + timeout
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as conn:
                with self.lock:
                    self.open.add(conn)
                try:
                    conn.sendall(json.dumps(message | self._proof()).encode() + b"\n")
                    reply = b""
                    while not reply.endswith(b"\n"):
                        conn.settimeout(max(0.01, end - time.monotonic()))
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        reply += chunk
                finally:
                    with self.lock:
                        self.open.discard(conn)
        except OSError as exc:
            raise LabkitError(self.abandoned or
                              f"the lab's microVM does not answer on 127.0.0.1:{self.port} ({exc})") from None
        if not reply.endswith(b"\n"):
            raise LabkitError(self.abandoned or f"the lab's microVM closed the connection on 127.0.0.1:{self.port}")
        return json.loads(reply)

    def _proof(self) -> dict:
        """The token field of a request (none without a token file)."""
        if self.token_file is None:
            return {}
        if self._token is None:
            try:
                self._token = self.token_file.read_text().strip()
            except OSError as exc:
                raise LabkitError(f"the microVM's agent token {self.token_file} cannot be read ({exc.strerror}): "
                                  "only root (who started the VM) drives it") from None
        return {"token": self._token}

    def abandon(self, reason: str) -> None:
        """End every request in flight and refuse new ones with `reason` (the VM stopped answering)."""
        self.abandoned = reason
        with self.lock:
            for conn in self.open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def run(self, argv: list[str], timeout: float = 60, stdin: str | None = None, *, group: str | None = None,
            env: dict[str, str] | None = None) -> Completed:
        reply = self.request({"op": "run", "argv": argv, "timeout": timeout, "stdin": stdin, "group": group,
                              "env": env}, timeout + 15)
        if "error" in reply:
            raise LabkitError(f"the microVM's agent refused `{' '.join(argv)}`: {reply['error']}")
        return Completed(reply["rc"], reply["stdout"], reply["stderr"])

    def attach_argv(self, argv: list[str], *, group: str | None = None,
                    env: dict[str, str] | None = None) -> list[str]:
        extra = [*(["--group", group] if group else []), *(a for k, v in (env or {}).items() for a in ("--env",
                                                                                                        f"{k}={v}")),
                 *(["--token-file", str(self.token_file)] if self.token_file else [])]
        return [sys.executable, "-m", "labkit.runtime.attach", "--port", str(self.port), *extra, "--", *argv]
