"""The one microVM every embedded lab runs in: booted on first need from Debian's kernel with virtme-ng,
kept warm between labs, shared by all of them, powered off by its agent after an idle time, and replaced,
never reused, when it has died or stopped answering.

The guest shares the host's root filesystem read-only (with throw-away overlays on /etc, /var, /tmp...), so
FRR, strongSwan, the build directories and this virtualenv are all visible in it. It runs
`labkit.runtime.agent`, reached through QEMU user networking forwarded to a loopback port. Its record and
kernel console live in /run/labkit/vm/.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from labkit import settings
from labkit.errors import LabkitError
from labkit.runtime.base import Say
from labkit.runtime.executor import AgentExecutor
from labkit.runtime.warm import warm_command, warm_files

GUEST_PORT = 7000
KVM_PROBE_S = 25
HEARTBEAT_TIMEOUT_S = 5.0  # an agent that takes longer to answer a ping is not answering
WARM_TIMEOUT_S = 120  # copying the nodes' files into the guest's memory (about 4 s under TCG)
# a shared guest (labkit.settings: vm_memory, vm_cpus, vm_idle_s, vm_tb_cache_mib): sized for several labs; free
# page reporting gives back to the host what it does not use


def vm_dir() -> Path:
    """The microVM's record, lock and console log."""
    return settings.run_dir() / "vm"


def _accel_cache() -> Path:
    return settings.cache_dir() / "accel.json"
# kernel messages of level warning and worse reach the console (vm.log); a soft lockup dumps every CPU
# tsc=reliable: the guest keeps the TSC as its clock (it marks it unstable under TCG and falls back to the HPET, whose
# every read leaves the translated code for the device model: the failover lab idled at 0.44 cores, with the TSC 0.35)
KERNEL_CONSOLE = "tsc=reliable loglevel=5 softlockup_all_cpu_backtrace=1 hung_task_timeout_secs=60"
# loaded in the guest: its NIC and balloon, GRE, ESP and the netfilter matches the start scripts use
GUEST_MODULES = (
    "virtio_net virtio_balloon ip_gre esp4 xfrm_user nfnetlink_log xt_NFLOG xt_hashlimit xt_TCPMSS xt_policy"
    " nft_compat veth"
    " mpls_router mpls_iptunnel vrf"  # MPLS L3VPN labs
)


def find_kernel() -> Path:
    """The guest kernel: LABKIT_KERNEL (a version, e.g. 6.12.117+deb12-amd64) if set, else the newest
    /boot/vmlinuz-* that has its modules installed."""
    wanted = os.environ.get("LABKIT_KERNEL")
    found = []
    for image in Path("/boot").glob("vmlinuz-*"):
        version = image.name.removeprefix("vmlinuz-")
        if (Path("/lib/modules") / version / "modules.dep").exists():
            found.append((tuple(int(p) for p in re.findall(r"\d+", version)), image))
    if wanted:
        match = [image for _, image in found if image.name == f"vmlinuz-{wanted}"]
        if not match:
            known = ", ".join(sorted(i.name.removeprefix("vmlinuz-") for _, i in found)) or "none"
            raise LabkitError(f"LABKIT_KERNEL={wanted}: no such kernel with modules in /boot; installed: {known}")
        return match[0]
    if not found:
        raise LabkitError("no kernel for the microVM: install Debian's linux-image-6.12-amd64 (`make deps` does)")
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


def vng_argv(kernel: Path, port: int, accel: str, token_file: Path) -> list[str]:
    devices = (f"-netdev user,id=ctl,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT} "
               "-device virtio-net-pci,netdev=ctl -device virtio-balloon-pci,free-page-reporting=on")
    qemu_opts = devices + (f" -accel tcg,thread=multi,tb-size={settings.vm_tb_cache_mib()}" if accel == "tcg" else "")
    guest = (
        f"modprobe -a {GUEST_MODULES}; dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1); "
        'ip link set "$dev" up && ip addr add 10.0.2.15/24 dev "$dev" && '
        f"exec {sys.executable} -m labkit.runtime.agent --port {GUEST_PORT} --idle {settings.vm_idle_s():.0f} "
        f"--token-file {token_file}"
    )
    argv = [find_vng(), "-r", str(kernel), "--name", "labkit-vm", "--memory", settings.vm_memory(),
            "--cpus", str(settings.vm_cpus()),
            # the kernel console goes to vm.log: warnings and worse, with every CPU's backtrace on a lockup
            "--verbose", "--append", KERNEL_CONSOLE, f"--qemu-opts={qemu_opts}", "--exec", guest]
    if accel == "tcg":
        argv.insert(1, "--disable-kvm")
    return argv


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One process at a time boots, replaces or stops the VM."""
    vm_dir().mkdir(parents=True, exist_ok=True)
    with (vm_dir() / "lock").open("w") as lock:
        end = time.monotonic() + settings.boot_timeout_s() + KVM_PROBE_S + 60  # what another process may hold it for
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise LabkitError(f"another labkit has held the microVM's lock ({vm_dir() / 'lock'}) for "
                                      "too long; is a boot stuck? `labkit vm stop` clears it") from None
                time.sleep(0.2)
        yield


class MicroVM:
    """The shared microVM as its record describes it: pid of its process group, agent port, kernel..."""

    def __init__(self) -> None:
        self.record = self._read()
        self._executor: AgentExecutor | None = None

    @staticmethod
    def _read() -> dict:
        try:
            return json.loads((vm_dir() / "vm.json").read_text())
        except (OSError, ValueError):
            return {}

    @property
    def pid(self) -> int | None:
        return self.record.get("pid")

    @property
    def log(self) -> Path:
        return vm_dir() / "vm.log"

    def alive(self) -> bool:
        return bool(self.pid and _alive(self.pid))

    def executor(self) -> AgentExecutor:
        port = self.record.get("port")
        if not port or not self.alive():
            raise LabkitError("the microVM is not running; `labkit up` starts it")
        if self._executor is None or self._executor.port != port:
            self._executor = AgentExecutor(port, self.token_file)
        return self._executor

    @property
    def token_file(self) -> Path | None:
        """The file of the agent's token (root's only): every request carries it."""
        return Path(self.record["token_file"]) if self.record.get("token_file") else None

    def heartbeat(self) -> str | None:
        """None while the agent answers a ping within HEARTBEAT_TIMEOUT_S; else what is wrong."""
        if not self.alive():
            return "its QEMU process has exited"
        try:
            AgentExecutor(self.record["port"], self.token_file).request({"op": "ping"}, timeout=HEARTBEAT_TIMEOUT_S)
        except LabkitError:
            return f"its agent did not answer a ping within {HEARTBEAT_TIMEOUT_S:.0f}s"
        return None

    # -- lifecycle -------------------------------------------------------------------------------
    def ensure(self, say: Say) -> None:
        """A running, answering VM: the warm one if it answers, else a new one (a hung or dead one is
        stopped and replaced, never reused)."""
        with _locked():
            self.record = self._read()
            if self.record:
                problem = self.heartbeat()
                if problem is None:
                    say(f"using the warm microVM (up {self.uptime_s():.0f}s, agent on "
                        f"127.0.0.1:{self.record['port']})")
                    return
                say(f"the microVM stopped responding ({problem}): replacing it; its console was {self.log}")
                self._stop_process()
            self._boot(say)

    def _boot(self, say: Say) -> None:
        kernel = find_kernel()
        find_vng()
        accel = self._accel(kernel, say)
        say(f"booting the microVM: kernel {kernel.name}, {accel.upper()}, {settings.vm_cpus()} vCPUs, "
            f"up to {settings.vm_memory()}B memory")
        started = time.monotonic()
        proc, port, token_file = _launch(kernel, accel, self.log)
        self.record = {"pid": proc.pid, "port": port, "accel": accel, "kernel": kernel.name,
                       "memory": settings.vm_memory(), "started": time.time(), "token_file": str(token_file)}
        (vm_dir() / "vm.json").write_text(json.dumps(self.record, indent=2))
        try:
            if not _wait_agent(proc, AgentExecutor(port, token_file), settings.boot_timeout_s()):
                raise _boot_failed(proc, settings.boot_timeout_s(), self.log)
            files = warm_files()
            warmed = self.executor().run(warm_command(), timeout=WARM_TIMEOUT_S, stdin="\n".join(files))
        except BaseException:  # a failed or interrupted boot leaves no VM behind
            self._stop_process()
            raise
        say(f"microVM up in {time.monotonic() - started:.1f}s (agent on 127.0.0.1:{port}); "
            + (f"{len(files)} files the nodes run copied into its memory" if warmed.ok else
               f"copying the nodes' files into its memory failed ({warmed.stderr.strip()[-200:]}): labs run slower"))

    def stop(self, say: Say) -> bool:
        """Power the VM off (killing it if it does not answer) and remove its directory; False if none ran."""
        with _locked():
            self.record = self._read()
            ran = self.alive()
            if ran and self.heartbeat() is None:
                with contextlib.suppress(LabkitError):
                    self.executor().request({"op": "poweroff"}, timeout=10)
                end = time.monotonic() + 30
                while self.alive() and time.monotonic() < end:
                    time.sleep(0.2)
            elif ran:
                say("the microVM does not answer; killing it")
            self._stop_process()
            shutil.rmtree(vm_dir(), ignore_errors=True)
            if ran:
                say("microVM stopped")
            return ran

    def _stop_process(self) -> None:
        if self.pid:
            _kill(self.pid)
        if self.token_file:
            shutil.rmtree(self.token_file.parent, ignore_errors=True)
        (vm_dir() / "vm.json").unlink(missing_ok=True)
        self.record = {}

    def _accel(self, kernel: Path, say: Say) -> str:
        """KVM where a guest really boots, TCG otherwise (KVM guests hang on some hosts)."""
        forced = os.environ.get("LABKIT_ACCEL")
        if forced in ("kvm", "tcg"):
            return forced
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return "tcg"
        key = f"{kernel.name}|{_qemu_version()}"
        try:
            cache = json.loads(_accel_cache().read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
        say(f"probing KVM: a guest must answer within {KVM_PROBE_S}s")
        proc, port, token_file = _launch(kernel, "kvm", self.log)
        probe = AgentExecutor(port, token_file)
        works = _wait_agent(proc, probe, KVM_PROBE_S)
        if works:
            probe.request({"op": "poweroff"}, timeout=5)
            proc.wait(timeout=30)
        else:
            say(f"KVM guest failed: {_boot_failed(proc, KVM_PROBE_S, self.log).args[0].splitlines()[-1]}")
            _kill(proc.pid)
            proc.wait()
        shutil.rmtree(token_file.parent, ignore_errors=True)
        cache[key] = "kvm" if works else "tcg"
        _accel_cache().parent.mkdir(parents=True, exist_ok=True)
        _accel_cache().write_text(json.dumps(cache, indent=2))
        say("KVM works" if works else "KVM guest did not boot: using TCG (software emulation) from now on")
        return cache[key]

    # -- what it holds ---------------------------------------------------------------------------
    def uptime_s(self) -> float:
        return time.time() - self.record.get("started", time.time())

    def namespaces(self) -> list[str]:
        out = self.executor().run(["ip", "netns", "list"], timeout=20).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def guest_memory_mib(self) -> dict[str, float]:
        """What the guest's kernel says it uses (excluding caches) and holds in all (including them)."""
        out = self.executor().run(["cat", "/proc/meminfo"], timeout=20).stdout
        rows = (line.split(":", 1) for line in out.splitlines() if ":" in line)
        info = {key: int(value.split()[0]) / 1024 for key, value in rows}
        total, free = info.get("MemTotal", 0), info.get("MemFree", 0)
        cached = info.get("Buffers", 0) + info.get("Cached", 0) + info.get("SReclaimable", 0)
        return {"guest_used_mib": total - free - cached, "guest_cached_mib": cached, "guest_total_mib": total}

    def give_back_memory(self) -> None:
        """After the last lab went: drop the guest's file caches and compact its free memory, so that free page
        reporting hands whole runs of it back to the host instead of QEMU keeping it resident."""
        self.executor().run(["sh", "-c", "sync; echo 1 > /proc/sys/vm/drop_caches; "
                             "echo 1 > /proc/sys/vm/compact_memory"], timeout=60)

    def resources(self) -> dict[str, float]:
        """QEMU's current and peak resident memory: every lab lives inside it."""
        status = _proc_status(self._qemu_pid()) if self._qemu_pid() else {}
        if not status:
            return {}
        return {"vm_rss_mib": int(status.get("VmRSS", "0 kB").split()[0]) / 1024,
                "vm_peak_rss_mib": int(status.get("VmHWM", "0 kB").split()[0]) / 1024}

    def cpu_seconds(self) -> float:
        """The CPU time QEMU has used so far (user and system): every lab's routers run on it."""
        pid = self._qemu_pid()
        if pid is None:
            raise LabkitError("the microVM is not running")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def _qemu_pid(self) -> int | None:
        """The QEMU process among those vng started."""
        if not self.pid:
            return None
        return next((pid for pid in _session_pids(self.pid)
                     if _proc_status(pid).get("Name", "").startswith("qemu")), None)


def new_token() -> Path:
    """A new secret for the agent, in a file only root reads (mode 0600, in a folder of its own, 0700) under the
    state folder, which the guest sees too (it does not see the host's /run)."""
    settings.state_dir().mkdir(parents=True, exist_ok=True)
    token_file = Path(tempfile.mkdtemp(prefix="agent-", dir=settings.state_dir())) / "token"
    descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as secret:
        secret.write(secrets.token_hex(32))
    return token_file


def _launch(kernel: Path, accel: str, log_path: Path) -> tuple[subprocess.Popen, int, Path]:
    vm_dir().mkdir(parents=True, exist_ok=True)
    port, token_file = free_port(), new_token()
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(vng_argv(kernel, port, accel, token_file), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True, cwd="/", env=env)
    return proc, port, token_file


def _boot_failed(proc: subprocess.Popen, deadline_s: float, log: Path) -> LabkitError:
    what = f"exited with status {proc.returncode}" if proc.poll() is not None else \
        f"did not answer within {deadline_s:.0f}s"
    return LabkitError(f"the microVM {what}; its log {log} ends with:\n{_tail(log)}")


def _wait_agent(proc: subprocess.Popen, agent: AgentExecutor, deadline_s: float) -> bool:
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


def _kill(pid: int) -> None:
    """End a process group: SIGTERM, then SIGKILL (which also ends a stopped one)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if not _alive(pid):
                return
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _proc_status(pid).get("State", "").startswith("Z")


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
