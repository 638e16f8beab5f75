"""A stand-in SSH endpoint for an Eltex ESR: password login, a `name#` prompt, and each command answered
from a fixture file (tests/fixtures/esr/...) of recorded or hand-made outputs. It exercises the real
scrapli (eltex_esr driver, OpenSSH client) -> TTP -> check chain; it is not an ESR."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import yaml

UNKNOWN = "Syntax error: Unrecognized command"  # the error text scrapli's eltex_esr driver fails on


@dataclass(frozen=True)
class Replay:
    """One device's answers: exact commands, then regex patterns whose named groups fill the output."""

    prompt: str
    commands: dict[str, str]
    patterns: tuple[tuple[re.Pattern, str], ...]

    @classmethod
    def load(cls, path: Path) -> Replay:
        raw = yaml.safe_load(path.read_text())
        return cls(raw["prompt"], raw.get("commands", {}),
                   tuple((re.compile(p), out) for p, out in raw.get("patterns", {}).items()))

    def answer(self, command: str) -> str:
        if command in ("", "terminal datadump"):
            return ""
        if command in self.commands:
            return self.commands[command]
        for pattern, output in self.patterns:
            match = pattern.fullmatch(command)
            if match:
                return output.format(**match.groupdict())
        return UNKNOWN


class ReplayServer:
    """Serves several devices, one port each, from a background thread; `stop()` ends it."""

    def __init__(self, devices: dict[str, Replay], username: str, password: str):
        self.devices = devices
        self.username, self.password = username, password
        self.ports: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list = []

    def start(self) -> dict[str, int]:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(timeout=30)
        return self.ports

    def stop(self) -> None:
        async def close() -> None:
            for server in self.servers:
                server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _listen(self) -> None:
        key = asyncssh.generate_private_key("ssh-ed25519")
        for name, replay in self.devices.items():
            server = await asyncssh.create_server(
                lambda: _Auth(self.username, self.password), "127.0.0.1", 0, server_host_keys=[key],
                process_factory=lambda process, replay=replay: _session(process, replay))
            self.servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]


class _Auth(asyncssh.SSHServer):
    def __init__(self, username: str, password: str):
        self.username, self.password = username, password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.username and password == self.password


async def _session(process: asyncssh.SSHServerProcess, replay: Replay) -> None:
    """The CLI loop: prompt, read a line (asyncssh's line editor echoes it, as a router does), answer."""
    process.stdout.write(f"{replay.prompt}# ")
    try:
        while True:
            line = await process.stdin.readline()
            if not line:
                break
            command = line.strip()
            if command in ("exit", "logout"):
                break
            output = replay.answer(command)
            if output:
                process.stdout.write(output.rstrip("\n").replace("\n", "\r\n") + "\r\n")
            process.stdout.write(f"{replay.prompt}# ")
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, ConnectionError):
        pass
    process.exit(0)
