"""A lab as network namespaces in one kernel: one namespace per node, veth pairs per link.

Each command entering a node also gets a private mount namespace (`ip netns exec` makes one) in which
the node's binds from the containerlab file and a private /run are mounted, so FRR and charon of
every node find their own configuration, pid files and sockets at the standard paths.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from labkit.errors import LabkitError
from labkit.runtime.executor import Completed, Executor
from labkit.runtime.labspec import LabSpec, NodeSpec

STATE_ROOT = "/run/labkit"
START_SCRIPT = "/etc/labkit/start.sh"
# nodes start together and share the machine's CPUs, so each start script may take longer the more nodes
# there are: a fixed part, plus a share per node (about 5 s each was measured under TCG on 2 cores)
START_BASE_S = 120
START_PER_NODE_S = 12
STATUS_SCRIPT = (
    'for p in /run/frr/*.pid /run/charon.pid /run/keepalived.pid; do [ -f "$p" ] || continue; '
    'n=$(basename "$p" .pid); if kill -0 "$(cat "$p")" 2>/dev/null; then echo "$n up"; '
    'else echo "$n down"; fi; done'
)


def start_limit_s(nodes: int) -> float:
    """How long the nodes of a lab of `nodes` nodes may take to start, all at once."""
    return START_BASE_S + START_PER_NODE_S * nodes


class NetnsLab:
    """Runs the nodes and links of a LabSpec through an Executor (this kernel or a microVM's)."""

    def __init__(self, spec: LabSpec, executor: Executor):
        self.spec = spec
        self.executor = executor
        self.state_dir = f"{STATE_ROOT}/{spec.name}"

    def netns(self, node: str) -> str:
        return f"{self.spec.name}-{node}"

    def node_argv(self, node: NodeSpec, argv: list[str]) -> list[str]:
        mounts = [f"mount --bind {self.state_dir}/nodes/{node.name}/run /run"]
        for source, target in node.binds:
            mounts.append(f"mkdir -p {shlex.quote(target)}")
            mounts.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        script = "set -e; " + "; ".join(mounts) + '; export PS1="' + node.name + '# "; exec "$@"'
        return ["ip", "netns", "exec", self.netns(node.name), "sh", "-c", script, node.name, *argv]

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        return self.executor.run(self.node_argv(self.spec.node(node), argv), timeout=timeout)

    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        return self.executor.attach_argv(self.node_argv(self.spec.node(node), argv))

    def shell(self, script: str, timeout: float = 60) -> Completed:
        return self.executor.run(["sh", "-c", script], timeout=timeout)

    def existing_namespaces(self) -> list[str]:
        listed = self.executor.run(["ip", "netns", "list"]).stdout.split()
        return [ns for ns in listed if ns.startswith(f"{self.spec.name}-")]

    def up(self, say: Callable[[str], None]) -> dict[str, float]:
        """Create namespaces and links, then run every node's start script in parallel; returns how long
        each stage took (namespaces_s, nodes_s)."""
        started = time.monotonic()
        if self.existing_namespaces():
            raise LabkitError(f"lab {self.spec.name} is already running; `labkit down` stops it")
        lines = ["set -e"]
        for node in self.spec.nodes:
            lines.append(f"ip netns add {self.netns(node.name)}")
            lines.append(f"mkdir -p {self.state_dir}/nodes/{node.name}/run")
        for link in self.spec.links:
            lines.append(
                f"ip link add {link.a_if} netns {self.netns(link.a)} type veth "
                f"peer name {link.b_if} netns {self.netns(link.b)}"
            )
        done = self.shell("\n".join(lines))
        if not done.ok:
            raise LabkitError(f"creating the lab's namespaces and links failed: {done.stderr.strip()}")
        say(f"{len(self.spec.nodes)} nodes and {len(self.spec.links)} links created; starting daemons")
        created = time.monotonic()
        limit = start_limit_s(len(self.spec.nodes))

        def start(node: NodeSpec) -> tuple[str, Completed]:
            return node.name, self.exec(node.name, ["sh", START_SCRIPT], timeout=limit)

        failed = []
        pool = ThreadPoolExecutor(max_workers=len(self.spec.nodes))
        try:
            for name, result in pool.map(start, self.spec.nodes):
                if result.ok:
                    say(f"{name} ready")
                else:
                    failed.append(f"{name}: start script failed (exit {result.rc}):\n"
                                  f"{(result.stdout + result.stderr).strip()}")
        finally:  # interrupted: return at once, the caller's clean-up ends the start scripts
            pool.shutdown(wait=False, cancel_futures=True)
        if failed:
            raise LabkitError("\n".join(failed))
        return {"namespaces_s": round(created - started, 1), "nodes_s": round(time.monotonic() - created, 1)}

    def status(self) -> dict[str, dict[str, str]]:
        """Per node, each daemon's state ('up'/'down'); a missing namespace maps to {}."""
        running = set(self.existing_namespaces())

        def one(node: NodeSpec) -> tuple[str, dict[str, str]]:
            if self.netns(node.name) not in running:
                return node.name, {}
            out = self.exec(node.name, ["sh", "-c", STATUS_SCRIPT], timeout=30).stdout
            daemons = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
            return node.name, daemons | {"netns": "up"}

        with ThreadPoolExecutor(max_workers=len(self.spec.nodes)) as pool:
            return dict(pool.map(one, self.spec.nodes))

    def down(self) -> list[str]:
        """Stop every process of the lab's namespaces, delete them and the state; returns what was removed."""
        namespaces = self.existing_namespaces()
        script = ["for ns in " + " ".join(namespaces) + "; do"] if namespaces else []
        if namespaces:
            script += [
                '  pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill $pids 2>/dev/null || true',
                "done",
                "sleep 0.5",
                "for ns in " + " ".join(namespaces) + "; do",
                '  pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true',
                '  ip netns del "$ns"',
                "done",
            ]
        script.append(f"rm -rf {self.state_dir}")
        done = self.shell("\n".join(script))
        if not done.ok:
            raise LabkitError(f"removing lab {self.spec.name} failed: {done.stderr.strip()}")
        return namespaces
