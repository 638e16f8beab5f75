"""The agent inside a lab's microVM: runs commands and interactive sessions for the host.

Protocol, one TCP connection per request, first line a JSON object; with --token-file, every request carries
"token", the secret in that file (root's only, on the host and here): one without it is refused and logged.
  {"op": "ping"}                               -> {"ok": true, "kernel": ...}
  {"op": "run", "argv": [...], "timeout": s}   -> {"rc": n, "stdout": ..., "stderr": ...}
  {"op": "pty", "argv": [...], "rows", "cols"} -> raw terminal bytes both ways until the command ends
A run or pty request may name a "group": the command then runs in the control group labkit/<group> (a lab's: its
CPU time is counted there, and `cgroup.kill` ends all of it); and "env", variables added to its environment.
  {"op": "poweroff"}                           -> {"ok": true}, then the agent exits and the VM stops
With --idle S, the agent also exits (and the VM stops) once no lab namespace has existed and no request
has come for S seconds.
Standard library only: it starts under software emulation, where every import costs.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hmac
import json
import os
import pty
import re
import select
import socket
import socketserver
import struct
import subprocess
import termios
import threading
import time


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.last_request = time.monotonic()
        request = json.loads(self.rfile.readline())
        op = request.get("op")
        if self.server.token and not hmac.compare_digest(str(request.get("token", "")), self.server.token):
            print(f"labkit agent: refused a {op!r} request without the agent's token from {self.client_address[0]}",
                  flush=True)
            self.reply({"error": "refused: no valid token (only root on the VM's host drives it)"})
            return
        group = request.get("group")
        if group is not None and not GROUP_NAME.fullmatch(str(group)):
            self.reply({"error": f"bad group name {group!r}"})
        elif op == "run":
            self.reply(run(request["argv"], request.get("timeout", 60), request.get("stdin"), group,
                           request.get("env")))
        elif op == "pty":
            self.relay_pty(request["argv"], request.get("rows", 24), request.get("cols", 200), group,
                           request.get("env"))
        elif op == "ping":
            self.reply({"ok": True, "kernel": os.uname().release})
        elif op == "poweroff":
            self.reply({"ok": True})
            threading.Thread(target=self.server.shutdown).start()
        else:
            self.reply({"error": f"unknown op {op!r}"})

    def reply(self, message: dict) -> None:
        self.wfile.write(json.dumps(message).encode() + b"\n")
        self.wfile.flush()

    def relay_pty(self, argv: list[str], rows: int, cols: int, group: str | None, env: dict | None) -> None:
        procs = group_procs(group) if group else None  # opened before the fork: the child only writes to it
        environment = os.environ | (env or {})
        pid, fd = pty.fork()
        if pid == 0:
            try:
                if procs is not None:
                    os.write(procs, b"0")
                os.execvpe(argv[0], argv, environment)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        sock = self.connection
        try:
            while True:
                ready, _, _ = select.select([fd, sock], [], [])
                if fd in ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    sock.sendall(data)
                if sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        break
                    os.write(fd, data)
        finally:
            os.close(fd)
            if procs is not None:
                os.close(procs)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
            os.waitpid(pid, 0)


GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
GROUPS = "/sys/fs/cgroup/labkit"


def group_procs(group: str) -> int:
    """An open descriptor of labkit/<group>'s cgroup.procs (the group made first, with the controllers a lab's
    limits need enabled below labkit/)."""
    path = f"{GROUPS}/{group}"
    if not os.path.isdir(path):
        os.makedirs(GROUPS, exist_ok=True)
        with contextlib.suppress(OSError), open(f"{GROUPS}/cgroup.subtree_control", "w") as control:
            control.write("+cpu +memory +pids")
        os.makedirs(path, exist_ok=True)
    return os.open(f"{path}/cgroup.procs", os.O_WRONLY)


def run(argv: list[str], timeout: float, stdin: str | None, group: str | None = None,
        env: dict | None = None) -> dict:
    """Run a command to its end (killed after `timeout`); in control group labkit/<group> if one is named."""
    try:
        procs = group_procs(group) if group else None
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=os.environ | env if env else None)
    except OSError as exc:
        return {"rc": 127, "stdout": "", "stderr": str(exc)}
    if procs is not None:  # at once: under emulation a command takes far longer than this to start children
        with contextlib.suppress(OSError):
            os.write(procs, str(proc.pid).encode())
        os.close(procs)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return {"rc": 124, "stdout": out or "", "stderr": f"timed out after {timeout}s"}
    return {"rc": proc.returncode, "stdout": out, "stderr": err}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # the host opens a connection per node at once (start scripts, sessions): the default backlog of 5
    # dropped the rest behind QEMU's user networking, and a 7-node lab's bring-up hung
    request_queue_size = 128
    last_request = 0.0
    token = ""  # the secret every request must carry; empty: none asked


def power_off_when_idle(server: Server, idle_s: float) -> None:
    """Stop the agent (and so the VM) after `idle_s` seconds without a request and without a lab."""
    while True:
        time.sleep(min(idle_s, 10))
        if time.monotonic() - server.last_request < idle_s:
            continue
        if not subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout.strip():
            print(f"labkit agent: no lab and no request for {idle_s:.0f}s: powering off", flush=True)
            server.shutdown()
            return


SO_TIMESTAMP = 29  # Linux's value (asm-generic/socket.h); Python's socket module does not name it


def hold_rx_timestamps() -> socket.socket:
    """Keep the kernel's receive-timestamp static key switched on for the guest's lifetime.

    Every `ping` asks for timestamps (SO_TIMESTAMP), and the first and last socket to do so make the kernel
    patch the `netstamp_needed_key` branch inside netif_receive_skb_list_internal, live, through a
    temporary int3. Under QEMU's multi-threaded TCG another vCPU can still run the stale translated int3
    after the patch is done: the guest then spins on it (6.1: both vCPUs stuck in that function under
    xfrm_trans_reinject or virtio-net) or dies (6.12: "Oops: int3"), which is how the MPLS lab's isolation
    check, ~70 pings in bursts of 8, hung its VM. With one socket holding the key for good, pings only move
    its count between 1 and 2 and the kernel text is never patched again.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    return sock


REPORTING_ORDER = "/sys/module/page_reporting/parameters/page_reporting_order"


def report_small_free_pages() -> None:
    """Have free page reporting give 4 KiB pages back to the host, not only 2 MiB blocks: virtio_balloon
    sets the order to 9 when it loads (a kernel command-line value is overwritten), and memory a lab freed
    is too scattered for 2 MiB blocks, so QEMU kept it resident. Without a balloon there is nothing to do."""
    with contextlib.suppress(OSError), open(REPORTING_ORDER, "w") as order:
        order.write("0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--idle", type=float, default=0, help="power off after this many idle seconds (0: never)")
    parser.add_argument("--token-file", help="the file holding the secret every request must carry")
    args = parser.parse_args()
    report_small_free_pages()
    with hold_rx_timestamps(), Server((args.listen, args.port), Handler) as server:
        server.last_request = time.monotonic()
        if args.token_file:
            with open(args.token_file) as secret:
                server.token = secret.read().strip()
        if args.idle > 0:
            threading.Thread(target=power_off_when_idle, args=(server, args.idle), daemon=True).start()
        print(f"labkit agent listening on {args.listen}:{args.port}", flush=True)
        server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
