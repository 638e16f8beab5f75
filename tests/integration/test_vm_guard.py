"""Only root drives the microVM: a local user without root reads no agent token and gets no command run by the
agent (seen before: any local user got `uid=0` and the host's /etc/shadow through it)."""

from __future__ import annotations

import subprocess

import pytest

from labkit.runtime.vm import MicroVM
from tests.integration.conftest import check_prerequisites

pytestmark = [pytest.mark.lab]

# run as nobody: read the token, then ask the agent to run a command without it and with a guessed one
AS_NOBODY = """
import json, socket, sys
token_file, port = sys.argv[1], int(sys.argv[2])
try:
    open(token_file).read()
    print("token read")
except OSError as exc:
    print("token unreadable", exc.errno)
for extra in ({}, {"token": "0" * 64}):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        request = {"op": "run", "argv": ["sh", "-c", "id -u; head -c 20 /etc/shadow"], "timeout": 10} | extra
        conn.sendall(json.dumps(request).encode() + b"\\n")
        print(conn.makefile().readline().strip())
"""


def test_a_local_user_without_root_gets_nothing_from_the_microvm():
    check_prerequisites()
    vm = MicroVM()
    vm.ensure(print)
    done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3",
                           "-c", AS_NOBODY, str(vm.token_file), str(vm.record["port"])],
                          capture_output=True, text=True, timeout=120, check=False)
    print(done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0] == "token unreadable 13", done.stdout + done.stderr
    assert len(lines) == 3 and all("refused: no valid token" in line and '"rc"' not in line for line in lines[1:])
    assert vm.executor().run(["id", "-u"], timeout=30).stdout.strip() == "0"  # root, with the token, still can
