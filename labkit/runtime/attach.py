"""Attach this terminal to an interactive command inside a lab's microVM (used by `labkit shell` and
as scrapli's `open_cmd` for lab nodes)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import shutil
import socket
import sys
import termios
import tty


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--group", help="the lab's control group the command joins")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="added to its environment")
    parser.add_argument("--token-file", help="the agent's token (root's only)")
    parser.add_argument("argv", nargs="+")
    args = parser.parse_args()
    cols, rows = shutil.get_terminal_size((200, 50))
    try:
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    except OSError as exc:
        print(f"labkit: the lab's microVM does not answer on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    sock.settimeout(None)
    env = dict(item.split("=", 1) for item in args.env)
    request = {"op": "pty", "argv": args.argv, "rows": rows, "cols": cols, "group": args.group, "env": env}
    if args.token_file:
        try:
            with open(args.token_file) as secret:
                request["token"] = secret.read().strip()
        except OSError as exc:
            print(f"labkit: the microVM's agent token {args.token_file} cannot be read ({exc.strerror})",
                  file=sys.stderr)
            return 1
    sock.sendall(json.dumps(request).encode() + b"\n")
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    with contextlib.ExitStack() as stack:
        if saved is not None:
            tty.setraw(stdin)
            stack.callback(termios.tcsetattr, stdin, termios.TCSADRAIN, saved)
        while True:
            ready, _, _ = select.select([stdin, sock], [], [])
            if sock in ready:
                data = sock.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    break
                sock.sendall(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
