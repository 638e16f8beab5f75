"""A lab as namespaces in one kernel, each node isolated like a container: its own network, mount, process (PID),
hostname (UTS) and IPC namespaces, held by a small init process, with veth pairs as links; every process of the
lab in one control group.

A node is made once: `ip netns add` names its network namespace (links are veth pairs moved into it), then an init
process is started in it with the other namespaces of its own, after the node's binds from the containerlab file and
a private /run were mounted in its mount namespace and its hostname set, so that FRR and charon find their own
configuration, pid files and sockets at the standard paths, `ps` and `kill` see only the node's processes, and a
`pkill` in one node reaches no other. The init is process 1 of the node: it reaps what the node's daemons leave,
and when it ends, the kernel ends every process of the node with it. Every command enters the node with `nsenter`
into those namespaces (its outer pid kept in the node's state folder), in the lab's control group labkit/<lab>:
there the lab's CPU time is counted, and `cgroup.kill` ends the whole lab at once.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from labkit.errors import LabkitError
from labkit.platforms import lab_node
from labkit.runtime.base import Runtime, Say, lab_namespaces, recorded_labs, removed_on_failure
from labkit.runtime.change import LabChange
from labkit.runtime.executor import Completed, Executor
from labkit.runtime.labspec import LabSpec, LinkSpec, NodeSpec
from labkit.runtime.scheduler import SCHEDULER

STATE_ROOT = "/run/labkit"
GROUPS = "/sys/fs/cgroup/labkit"  # the labs' control groups (labkit.runtime.agent makes them)
NAMESPACES = ("--net", "--mount", "--uts", "--ipc", "--pid")  # what a command entering a node joins
# the node's process 1: it ignores the signals a `kill -1` in the node sends, and reaps every orphan while it waits
INIT = 'trap "" TERM INT HUP; while :; do sleep 100000 & wait; done'
# nodes start together and share the machine's CPUs, so each start script may take longer the more nodes
# start beside it: a fixed part, plus a share per node (about 5 s each was measured under TCG on 2 cores)
START_BASE_S = 120
START_PER_NODE_S = 12
# at most this many start scripts run at once, in the lab's order (transport, hubs, spokes): 102 nodes started
# together under TCG on 2 cores took 13 s per node, charon 2.5 minutes to load its plugins, and one spoke's
# first IKE_SA_INIT was never retransmitted; a lab of up to this many nodes starts all at once as before
START_AT_ONCE = 8
# creating or deleting namespaces: a fixed part plus a share per node (about 0.8 s each for 102 nodes)
SHELL_BASE_S = 60
SHELL_PER_NODE_S = 2


class NodeStep(NamedTuple):
    """A command run in nodes in parallel: what it is called in errors, what is said when it worked."""

    argv: list[str]
    name: str
    done: str


START = NodeStep(["sh", lab_node().start], "start script", "ready")
START_ADDED = START._replace(done="started")
# a changed node starts from scratch in place, as the node_start fault restarts a node (its script is rendered into
# the node's files)
RESTART = NodeStep(["sh", lab_node().restart], "restart", "restarted")
# shell builtins only: each program run costs about 50 ms of CPU under TCG, and the workshop asks at every check
STATUS_SCRIPT = (
    f'for p in {" ".join(lab_node().pid_files)}; do [ -f "$p" ] || continue; '
    'n=${p##*/}; n=${n%.pid}; read -r pid < "$p" || pid=; if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; '
    'then echo "$n up"; else echo "$n down"; fi; done'
)


def start_limit_s(nodes: int) -> float:
    """How long `nodes` nodes may take to start, in all."""
    return START_BASE_S + START_PER_NODE_S * nodes


def shell_limit_s(nodes: int) -> float:
    """How long creating or deleting the namespaces of `nodes` nodes may take."""
    return SHELL_BASE_S + SHELL_PER_NODE_S * nodes


class NetnsLab:
    """Runs the nodes and links of a LabSpec through an Executor (this kernel or a microVM's)."""

    def __init__(self, spec: LabSpec, executor: Executor):
        self.spec = spec
        self.executor = executor
        self.state_dir = f"{STATE_ROOT}/{spec.name}"
        self.inits: dict[str, str] = {}  # each node's init, its outer pid

    def netns(self, node: str) -> str:
        return f"{self.spec.name}-{node}"

    @property
    def group(self) -> str:
        """The lab's control group, labkit/<lab>."""
        return self.spec.name

    def node_argv(self, node: str, argv: list[str]) -> list[str]:
        """`argv` run inside the node: in its namespaces, its files where the node expects them."""
        return ["nsenter", "-t", self.init_pid(node), *NAMESPACES, "--", *argv]

    def node_env(self, node: str) -> dict[str, str]:
        return {"PS1": f"{node}# ", **lab_node().env}

    def init_pid(self, node: str) -> str:
        """The outer pid of the node's init, as the node's state folder keeps it (read for every node at once)."""
        self.spec.node(node)
        if node not in self.inits:
            out = self.executor.run(["sh", "-c", f"cd {self.state_dir}/nodes 2>/dev/null && grep -H . */init.pid"],
                                    timeout=20).stdout
            self.inits = dict(line.split("/init.pid:") for line in out.split() if "/init.pid:" in line)
        if node not in self.inits:
            raise LabkitError(f"node {node} of lab {self.spec.name} is not running (no init process); "
                              "`labkit down` and `labkit up` start the lab again")
        return self.inits[node]

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        return self.executor.run(self.node_argv(node, argv), timeout=timeout, group=self.group,
                                 env=self.node_env(node))

    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        return self.executor.attach_argv(self.node_argv(node, argv), group=self.group, env=self.node_env(node))

    def shell(self, script: str, nodes: int = 0) -> Completed:
        """Run a script in the runtime's namespace, in the lab's control group; it may take as long as `nodes`
        nodes' namespaces need."""
        return self.executor.run(["sh", "-c", script], timeout=shell_limit_s(nodes), group=self.group)

    def existing_namespaces(self) -> list[str]:
        listed = self.executor.run(["ip", "netns", "list"]).stdout.split()
        return lab_namespaces(self.spec.name, listed, recorded_labs())

    def node_dir(self, node: str) -> str:
        return f"{self.state_dir}/nodes/{node}"

    def node_lines(self, node: NodeSpec) -> list[str]:
        """Shell making the node: its network namespace, and its init in its other namespaces once the node's
        binds are mounted and its hostname set (the init's outer pid written to the node's folder)."""
        folder = self.node_dir(node.name)
        mounts = [f"mount --bind {folder}/run /run"]
        for source, target in node.binds:
            # a test costs no program run (most targets exist: the folders the node's files are bound to)
            mounts.append(f"[ -d {shlex.quote(target)} ] || mkdir -p {shlex.quote(target)}")
            mounts.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        inside = "set -e; " + "; ".join([*mounts, f"hostname {node.name}", "echo up >&3", "exec 3>&-", INIT])
        return [
            "set -e",
            f"ip netns add {self.netns(node.name)}",
            f"mkdir -p {folder}/run && mkfifo {folder}/ready",
            f"ip netns exec {self.netns(node.name)} unshare --mount --uts --ipc --pid --fork --mount-proc "
            f"--propagation private sh -c {shlex.quote(inside)} 3>{folder}/ready </dev/null >/dev/null 2>&1 &",
            f'read -r up <{folder}/ready || true; rm -f {folder}/ready',
            f'[ "$up" = up ] || {{ echo "{node.name}: its namespaces could not be made" >&2; exit 1; }}',
            f"cat /proc/$!/task/$!/children > {folder}/init.pid",
        ]

    def up(self, say: Say) -> dict[str, float]:
        """Create namespaces and links, then run the nodes' start scripts, START_AT_ONCE at a time; returns how long
        each stage took (namespaces_s, nodes_s)."""
        started = time.monotonic()
        if self.existing_namespaces():
            raise LabkitError(f"lab {self.spec.name} is already running; `labkit down` stops it")
        names = [node.name for node in self.spec.nodes]
        self.create(names, self.spec.links)
        say(f"{len(names)} nodes and {len(self.spec.links)} links created; starting daemons")
        created = time.monotonic()
        self.run_in_nodes(names, START, say)
        return {"namespaces_s": round(created - started, 1), "nodes_s": round(time.monotonic() - created, 1)}

    def change(self, change: LabChange, say: Say) -> None:
        """Bring the running lab to this spec: stop removed nodes, add the new links (and added nodes'
        namespaces), restart changed nodes in place, start added ones; untouched nodes keep their processes."""
        if change.removed or change.removed_links:
            self.remove(change.removed, change.removed_links)
            say(f"stopped {len(change.removed)} nodes ({', '.join(change.removed) or '-'}), "
                f"removed {len(change.removed_links)} links")
        if change.added or change.added_links:
            self.create(change.added, change.added_links)
            say(f"{len(change.added)} nodes and {len(change.added_links)} links created")
        self.run_in_nodes(change.changed, RESTART, say)
        self.run_in_nodes(change.added, START_ADDED, say)

    def create(self, nodes: Sequence[str], links: Sequence[LinkSpec]) -> None:
        """`nodes` made (their namespaces, init and state folders), then a veth pair per link (its ends exist)."""
        lines = ["set -e"]
        for start in range(0, len(nodes), START_AT_ONCE):  # a few nodes made at once, each in a subshell
            batch = nodes[start:start + START_AT_ONCE]
            for i, name in enumerate(batch):
                lines += ["(", *self.node_lines(self.spec.node(name)), f") & made{i}=$!"]
            lines += [f"wait $made{i}" for i in range(len(batch))]
        if links:  # one `ip -batch` for every link: each program run costs tens of ms of CPU under emulation
            lines += ["ip -batch - <<'END_LINKS'",
                      *(f"link add {link.a_if} netns {self.netns(link.a)} type veth peer name {link.b_if} "
                        f"netns {self.netns(link.b)}" for link in links),
                      "END_LINKS"]
        done = self.shell("\n".join(lines), len(nodes))
        self.inits = {}
        if not done.ok:
            raise LabkitError(f"creating the lab's namespaces and links failed: {done.stderr.strip()}")

    def remove(self, nodes: Sequence[str], links: Sequence[LinkSpec]) -> None:
        """Delete `links` from an end that stays (at once, so its interface name is free again), then stop
        `nodes`' processes and delete their namespaces (their other links go with them) and run directories."""
        lines = []
        for link in links:
            stays = next(((n, i) for n, i in ((link.a, link.a_if), (link.b, link.b_if)) if n not in nodes), None)
            if stays:
                lines.append(f"ip -n {self.netns(stays[0])} link del {stays[1]} 2>/dev/null || true")
        lines += [f'kill -9 "$(cat {self.node_dir(name)}/init.pid 2>/dev/null)" 2>/dev/null' for name in nodes]
        lines += _removal_lines([self.netns(name) for name in nodes])
        lines += [f"rm -rf {self.node_dir(name)}" for name in nodes]
        done = self.shell("\n".join(lines), len(nodes))
        self.inits = {}
        if not done.ok:
            raise LabkitError(f"removing nodes {', '.join(nodes)} of lab {self.spec.name} failed: "
                              f"{done.stderr.strip()}")

    def run_in_nodes(self, nodes: Sequence[str], step: NodeStep, say: Say) -> None:
        """Run a step in every node, START_AT_ONCE at a time in the given order; say `<node> <done>` as each
        finishes; raise naming every node where it failed."""
        if not nodes:
            return

        def one(name: str) -> tuple[str, Completed]:
            return name, self.exec(name, step.argv, timeout=start_limit_s(min(len(self.spec.nodes), START_AT_ONCE)))

        self.init_pid(nodes[0])  # every node's init read once, before the threads need it

        failed = []
        pool = ThreadPoolExecutor(max_workers=min(len(nodes), START_AT_ONCE))
        try:
            for name, result in pool.map(one, nodes):
                if result.ok:
                    say(f"{name} {step.done}")
                else:
                    failed.append(f"{name}: {step.name} failed (exit {result.rc}):\n"
                                  f"{(result.stdout + result.stderr).strip()}")
        finally:  # interrupted: return at once, the caller's clean-up ends the scripts
            pool.shutdown(wait=False, cancel_futures=True)
        if failed:
            raise LabkitError("\n".join(failed))

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

    def cpu_seconds(self) -> float | None:
        """The CPU time the lab's processes have used so far (its control group's), None if it has none."""
        out = self.executor.run(["cat", f"{GROUPS}/{self.group}/cpu.stat"], timeout=20).stdout
        usage = next((line.split()[1] for line in out.splitlines() if line.startswith("usage_usec ")), None)
        return int(usage) / 1e6 if usage else None

    def down(self) -> list[str]:
        """End every process of the lab (its control group, and anything left in its namespaces), delete the
        namespaces, the control group and the state; returns the namespaces removed."""
        namespaces = self.existing_namespaces()
        cpu = self.cpu_seconds()
        if cpu is not None:
            SCHEDULER.log({"lab": self.spec.name, "cpu_s": round(cpu, 1)})
        group = f"{GROUPS}/{self.group}"
        ended = [f"[ ! -d {group} ] || {{ echo 1 > {group}/cgroup.kill; n=0; "
                 f"while grep -q 'populated 1' {group}/cgroup.events && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; "
                 f"done; rmdir {group}; }}"]
        done = self.executor.run(["sh", "-c", "\n".join([*ended, *_removal_lines(namespaces),
                                                          f"rm -rf {self.state_dir}"])],
                                 timeout=shell_limit_s(len(namespaces)))
        self.inits = {}
        if not done.ok:
            raise LabkitError(f"removing lab {self.spec.name} failed: {done.stderr.strip()}")
        return namespaces


class NetnsRuntime(Runtime):
    """A runtime whose lab is a NetnsLab (in this kernel or a microVM's): commands and live changes go to it."""

    lab: NetnsLab

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        return self.lab.exec(node, argv, timeout)

    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        return self.lab.attach_argv(node, argv)

    def change(self, change: LabChange, say: Say) -> None:
        with removed_on_failure(self, "the live change", say):
            self.lab.change(change, say)
        self.write_record()


def _removal_lines(namespaces: Sequence[str]) -> list[str]:
    """Shell stopping every process of the namespaces (SIGTERM, then SIGKILL) and deleting them."""
    if not namespaces:
        return []
    each = "for ns in " + " ".join(namespaces) + "; do"
    return [
        each,
        '  pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill $pids 2>/dev/null || true',
        "done",
        "sleep 0.5",
        each,
        '  pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true',
        '  echo "netns del $ns"',
        "done | ip -force -batch -",
    ]
