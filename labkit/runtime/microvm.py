"""The lab's namespaces inside a microVM booted from Debian's kernel with virtme-ng.

The guest shares the host's root filesystem read-only (with throw-away overlays on /etc, /var,
/tmp...), so FRR, strongSwan, the build directory and this virtualenv are all visible in it. The
VM runs `labkit.runtime.agent`, reached through QEMU user networking forwarded to a loopback port;
every runtime operation is the NetnsLab logic, its commands carried by that agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from labkit.errors import LabkitError
from labkit.runtime.base import RECORDS, Runtime, Say, read_record
from labkit.runtime.executor import AgentExecutor, Completed
from labkit.runtime.labspec import LabSpec
from labkit.runtime.netns import NetnsLab

GUEST_PORT = 7000
ACCEL_CACHE = Path(os.environ.get("LABKIT_CACHE_DIR", "/var/cache/labkit")) / "accel.json"
KVM_PROBE_S = 25
BOOT_DEADLINE_S = float(os.environ.get("LABKIT_BOOT_TIMEOUT", "240"))
HEARTBEAT_TIMEOUT_S = 5.0  # an agent that takes longer to answer a ping is not answering
MEMORY = os.environ.get("LABKIT_VM_MEMORY", "2G")
CPUS = os.environ.get("LABKIT_VM_CPUS", str(min(os.cpu_count() or 2, 4)))
# loaded in the guest: its NIC, GRE, ESP and the netfilter matches the start scripts use
# kernel messages of level warning and worse reach the console (vm.log); a soft lockup dumps every CPU
KERNEL_CONSOLE = "loglevel=5 softlockup_all_cpu_backtrace=1 hung_task_timeout_secs=60"
GUEST_MODULES = (
    "virtio_net ip_gre esp4 xfrm_user nfnetlink_log xt_NFLOG xt_hashlimit xt_TCPMSS xt_policy nft_compat veth"
    " mpls_router mpls_iptunnel vrf"  # MPLS L3VPN labs
)


def find_kernel() -> Path:
    """The newest /boot/vmlinuz-* that has its modules installed (Debian's linux-image-amd64)."""
    found = []
    for image in Path("/boot").glob("vmlinuz-*"):
        version = image.name.removeprefix("vmlinuz-")
        if (Path("/lib/modules") / version / "modules.dep").exists():
            found.append((tuple(int(p) for p in re.findall(r"\d+", version)), image))
    if not found:
        raise LabkitError("no kernel for the microVM: install Debian's linux-image-amd64 (`make deps` does)")
    return max(found)[1]


def find_vng() -> str:
    local = Path(sys.executable).parent / "vng"
    path = str(local) if local.exists() else shutil.which("vng")
    if not path:
        raise LabkitError("virtme-ng (`vng`) is not installed in this environment; run `make deps`")
    if not shutil.which("qemu-system-x86_64"):
        raise LabkitError("qemu-system-x86_64 is missing: install Debian's qemu-system-x86 (`make deps` does)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def vng_argv(kernel: Path, port: int, accel: str, lab: str) -> list[str]:
    netdev = f"-netdev user,id=ctl,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT} " \
             "-device virtio-net-pci,netdev=ctl"
    qemu_opts = netdev + (" -accel tcg,thread=multi" if accel == "tcg" else "")
    guest = (
        f"modprobe -a {GUEST_MODULES}; dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1); "
        'ip link set "$dev" up && ip addr add 10.0.2.15/24 dev "$dev" && '

        f"exec {sys.executable} -m labkit.runtime.agent --port {GUEST_PORT}"
    )
    argv = [find_vng(), "-r", str(kernel), "--name", f"labkit-{lab}", "--memory", MEMORY, "--cpus", CPUS,
            # the kernel console goes to vm.log: warnings and worse, with every CPU's backtrace on a lockup
            "--verbose", "--append", KERNEL_CONSOLE, f"--qemu-opts={qemu_opts}", "--exec", guest]
    if accel == "tcg":
        argv.insert(1, "--disable-kvm")
    return argv


class MicroVMRuntime(Runtime):
    name = "microvm"

    def __init__(self, spec: LabSpec):
        super().__init__(spec)
        self.vm_dir = RECORDS / f"vm-{spec.name}"
        record = read_record(spec.name) or {}
        self.port = record.get("port")
        self.pid = record.get("pid")
        self._executor: AgentExecutor | None = None

    @property
    def lab(self) -> NetnsLab:
        if not self.port:
            raise LabkitError(f"lab {self.spec.name} is not running; `labkit up` starts it")
        if self._executor is None or self._executor.port != self.port:
            self._executor = AgentExecutor(self.port)
        return NetnsLab(self.spec, self._executor)

    # -- VM lifecycle -------------------------------------------------------------------------
    def _launch(self, kernel: Path, accel: str) -> tuple[subprocess.Popen, int]:
        self.vm_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        log = (self.vm_dir / "vm.log").open("ab")
        env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        proc = subprocess.Popen(vng_argv(kernel, port, accel, self.spec.name), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, cwd="/", env=env)
        return proc, port

    def _boot_failed(self, proc: subprocess.Popen, deadline_s: float) -> LabkitError:
        log = self.vm_dir / "vm.log"
        what = f"exited with status {proc.returncode}" if proc.poll() is not None else \
            f"did not answer within {deadline_s:.0f}s"
        return LabkitError(f"the microVM {what}; its log {log} ends with:\n{_tail(log)}")

    def _wait_agent(self, proc: subprocess.Popen, port: int, deadline_s: float) -> bool:
        agent = AgentExecutor(port)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if proc.poll() is not None:
                return False
            try:
                if agent.request({"op": "ping"}, timeout=3).get("ok"):
                    return True
            except (LabkitError, ValueError):
                time.sleep(0.5)
        return False

    @staticmethod
    def _kill(pid: int) -> None:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    os.kill(pid, 0)
                    if _is_zombie(pid):
                        return
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def _accel(self, kernel: Path, say: Say) -> str:
        """KVM where a guest really boots, TCG otherwise (KVM guests hang on some hosts)."""
        forced = os.environ.get("LABKIT_ACCEL")
        if forced in ("kvm", "tcg"):
            return forced
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return "tcg"
        key = f"{kernel.name}|{_qemu_version()}"
        try:
            cache = json.loads(ACCEL_CACHE.read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
        say(f"probing KVM: a guest must answer within {KVM_PROBE_S}s")
        proc, port = self._launch(kernel, "kvm")
        works = self._wait_agent(proc, port, KVM_PROBE_S)
        if works:
            AgentExecutor(port).request({"op": "poweroff"}, timeout=5)
            proc.wait(timeout=30)
        else:
            say(f"KVM guest failed: {self._boot_failed(proc, KVM_PROBE_S).args[0].splitlines()[-1]}")
            self._kill(proc.pid)
            proc.wait()
        cache[key] = "kvm" if works else "tcg"
        ACCEL_CACHE.parent.mkdir(parents=True, exist_ok=True)
        ACCEL_CACHE.write_text(json.dumps(cache, indent=2))
        say("KVM works" if works else "KVM guest did not boot: using TCG (software emulation) from now on")
        return cache[key]

    def up(self, say: Say) -> None:
        kernel = find_kernel()
        find_vng()
        accel = self._accel(kernel, say)
        say(f"booting microVM: kernel {kernel.name}, {accel.upper()}, {CPUS} vCPUs, {MEMORY}B memory")
        started = time.monotonic()
        proc, port = self._launch(kernel, accel)
        self.port, self.pid = port, proc.pid
        self.write_record({"port": port, "pid": proc.pid, "accel": accel, "kernel": kernel.name})
        if not self._wait_agent(proc, port, BOOT_DEADLINE_S):
            raise self._boot_failed(proc, BOOT_DEADLINE_S)
        say(f"microVM up in {time.monotonic() - started:.1f}s (agent on 127.0.0.1:{port})")
        self.lab.up(say)

    def down(self, say: Say) -> None:
        if self.port and self.pid and _alive(self.pid):
            if self._answers():
                with contextlib.suppress(LabkitError):  # a guest wedged half-way is killed below all the same
                    self.lab.down()
                    AgentExecutor(self.port).request({"op": "poweroff"}, timeout=10)
                end = time.monotonic() + 30
                while _alive(self.pid) and time.monotonic() < end:
                    time.sleep(0.2)
            else:
                say("the microVM does not answer; killing it")
            self._kill(self.pid)
            say("microVM stopped")
        shutil.rmtree(self.vm_dir, ignore_errors=True)
        self.drop_record()

    def _answers(self) -> bool:
        try:
            AgentExecutor(self.port).request({"op": "ping"}, timeout=5)
            return True
        except LabkitError:
            return False

    def running(self) -> bool:
        return bool(self.pid and _alive(self.pid))

    def heartbeat(self) -> str | None:
        if not self.running():
            return "its QEMU process has exited"
        try:
            AgentExecutor(self.port).request({"op": "ping"}, timeout=HEARTBEAT_TIMEOUT_S)
        except LabkitError:
            return f"its agent did not answer a ping within {HEARTBEAT_TIMEOUT_S:.0f}s"
        return None

    def abandon(self, reason: str) -> None:
        if self._executor is not None:
            self._executor.abandon(reason)

    def console_log(self) -> Path | None:
        log = self.vm_dir / "vm.log"
        return log if log.exists() else None

    def status(self) -> dict[str, dict[str, str]]:
        if not self.running():
            return {node.name: {} for node in self.spec.nodes}
        problem = self.heartbeat()
        if problem:
            raise LabkitError(f"the lab's VM stopped responding ({problem}); its console is in "
                              f"{self.vm_dir / 'vm.log'}; `labkit down` removes it")
        return self.lab.status()

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        return self.lab.exec(node, argv, timeout)

    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        return self.lab.attach_argv(node, argv)

    def resources(self) -> dict[str, float]:
        """The QEMU process's current and peak resident memory: the whole lab lives inside it."""
        if not self.pid:
            return {}
        figures: dict[str, float] = {}
        for pid in _session_pids(self.pid):
            status = _proc_status(pid)
            if status.get("Name", "").startswith("qemu"):
                figures["vm_rss_mib"] = int(status.get("VmRSS", "0 kB").split()[0]) / 1024
                figures["vm_peak_rss_mib"] = int(status.get("VmHWM", "0 kB").split()[0]) / 1024
        return figures


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    return _proc_status(pid).get("State", "").startswith("Z")


def _proc_status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _qemu_version() -> str:
    done = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
