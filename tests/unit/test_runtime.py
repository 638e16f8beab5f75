"""Runtime command construction (the parts that need no VM, Docker or root)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.errors import LabkitError
from labkit.render.faults import fault_step
from labkit.render.generate import generate
from labkit.runtime import agent, netns, vm
from labkit.runtime.base import lab_namespaces
from labkit.runtime.clab import ClabRuntime, missing_modules
from labkit.runtime.executor import AgentExecutor, Completed, LocalExecutor
from labkit.runtime.labspec import read_lab
from labkit.runtime.netns import NetnsLab
from labkit.runtime.warm import TREES, warm_files
from tests.conftest import TOPOLOGIES


@pytest.fixture
def spec(tmp_path: Path):
    return read_lab(generate(load_design(TOPOLOGIES / "phase3.yml"), tmp_path).clab_file)


def test_clab_commands(spec):
    clab = ClabRuntime(spec)
    assert clab.deploy_argv() == ["containerlab", "deploy", "--reconfigure", "-t", str(spec.clab_file)]
    assert clab.destroy_argv() == ["containerlab", "destroy", "--cleanup", "-t", str(spec.clab_file)]
    assert clab.attach_argv("hub1", ["vtysh"]) == ["docker", "exec", "-it", "clab-dmvpn-phase3-hub1", "vtysh"]
    with pytest.raises(LabkitError, match="has no node 'hub9'"):
        clab.attach_argv("hub9", ["vtysh"])


def test_missing_kernel_modules(tmp_path: Path):
    proc = tmp_path / "modules"
    proc.write_text("ip_gre 32768 0 - Live 0x0\nxfrm_user 45056 2 - Live 0x0\n")
    builtin = tmp_path / "modules.builtin"
    builtin.write_text("kernel/net/ipv4/esp4.ko\n")
    assert missing_modules(("ip_gre", "esp4", "xfrm_user", "mpls_router"), proc, builtin) == ["mpls_router"]


def test_clab_up_names_missing_modules_before_deploying(tmp_path: Path, monkeypatch):
    """An MPLS lab needs MPLS and VRF modules on the host: `up` says which are missing and how to load
    them, and deploys nothing."""
    spec = read_lab(generate(load_design(TOPOLOGIES / "mpls.yml"), tmp_path).clab_file)
    assert {"ip_gre", "esp4", "mpls_router", "mpls_iptunnel", "vrf"} <= set(spec.kernel_modules)
    monkeypatch.setattr("labkit.runtime.clab.missing_modules", lambda modules: [m for m in modules if "mpls" in m])
    clab = ClabRuntime(spec)
    ran: list = []
    monkeypatch.setattr(clab.local, "run", lambda argv, timeout=60: ran.append(argv) or Completed(0, "", ""))
    with pytest.raises(LabkitError, match=r"mpls_router, mpls_iptunnel; load them with `sudo modprobe -a "
                                          r"mpls_router mpls_iptunnel`"):
        clab.up(lambda line: None)
    assert ran == []


def test_labs_without_mpls_need_no_mpls_modules(spec):
    assert "ip_gre" in spec.kernel_modules and "mpls_router" not in spec.kernel_modules


def test_a_node_is_made_once_with_namespaces_of_its_own_and_its_private_binds(spec):
    lab = NetnsLab(spec, LocalExecutor())
    lines = lab.node_lines(spec.node("spoke1"))
    assert lines[:2] == ["set -e", "ip netns add dmvpn-phase3-spoke1"]
    made = next(line for line in lines if "unshare" in line)
    assert made.startswith("ip netns exec dmvpn-phase3-spoke1 unshare --mount --uts --ipc --pid --fork --mount-proc ")
    assert "mount --bind /run/labkit/dmvpn-phase3/nodes/spoke1/run /run" in made and "hostname spoke1" in made
    for target in ("/etc/frr", "/etc/swanctl", "/etc/labkit"):
        assert f" {target}" in made
    assert lines[-1] == "cat /proc/$!/task/$!/children > /run/labkit/dmvpn-phase3/nodes/spoke1/init.pid"


def test_node_commands_enter_the_nodes_namespaces_in_the_labs_control_group(spec):
    kernel = InitPids(spec)
    lab = NetnsLab(spec, kernel)
    lab.exec("spoke1", ["vtysh"])
    argv, group, env = kernel.ran[-1]
    assert argv == ["nsenter", "-t", kernel.pid("spoke1"), "--net", "--mount", "--uts", "--ipc", "--pid", "--", "vtysh"]
    assert group == "dmvpn-phase3"
    assert env == {"PS1": "spoke1# ", "STRONGSWAN_CONF": "/etc/labkit/strongswan-cli.conf"}  # swanctl's own
    lab.exec("hub1", ["true"])
    assert kernel.reads == 1  # every node's init read at once, once



class InitPids:
    """Stands in for the executor: every node's init has a pid; records each command, its group and environment."""

    def __init__(self, spec, delay_s: float = 0.0):
        self.pids = {node.name: str(100 + i) for i, node in enumerate(spec.nodes)}
        self.ran: list[tuple[list[str], str | None, dict | None]] = []
        self.delay_s, self.running, self.most, self.lock = delay_s, 0, 0, threading.Lock()
        self.reads = 0

    def pid(self, node: str) -> str:
        return self.pids[node]

    def node_of(self, argv: list[str]) -> str | None:
        """The node a command enters, by its init's pid."""
        return next((n for n, p in self.pids.items() if argv[:3] == ["nsenter", "-t", p]), None)

    def run(self, argv: list[str], timeout: float = 60, stdin: str | None = None, *, group=None, env=None):
        if "init.pid" in " ".join(argv):
            self.reads += 1
            return Completed(0, "".join(f"{n}/init.pid:{p}\n" for n, p in self.pids.items()), "")
        with self.lock:
            self.ran.append((argv, group, env))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.delay_s)
        with self.lock:
            self.running -= 1
        return Completed(0, "", "")

    def attach_argv(self, argv: list[str], *, group=None, env=None) -> list[str]:
        return argv


def test_a_sites_swanctl_folder_has_strongswans_credential_folders(tmp_path: Path):
    swanctl = generate(load_design(TOPOLOGIES / "phase3.yml"), tmp_path).path / "nodes" / "spoke1" / "swanctl"
    assert sorted(p.name for p in swanctl.iterdir() if p.is_dir()) == sorted(
        ["x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private", "rsa", "ecdsa", "bliss",
         "pkcs8", "pkcs12"])


def test_microvm_attach_goes_through_the_agent(spec):
    lab = NetnsLab(spec, AgentExecutor(40123))
    lab.inits = {"hub1": "4242"}
    argv = lab.attach_argv("hub1", ["vtysh"])
    assert argv[1:5] == ["-m", "labkit.runtime.attach", "--port", "40123"]
    assert argv[5:7] == ["--group", "dmvpn-phase3"] and "PS1=hub1# " in argv
    assert argv[-1] == "vtysh" and argv[argv.index("--") + 1:argv.index("--") + 4] == ["nsenter", "-t", "4242"]


def test_vng_command_uses_tcg_loopback_only_and_returns_free_memory(monkeypatch):
    monkeypatch.setattr(vm, "find_vng", lambda: "/venv/bin/vng")
    argv = vm.vng_argv(Path("/boot/vmlinuz-6.12.1-amd64"), 40000, "tcg", Path("/var/lib/labkit/agent-x/token"))
    assert argv[:2] == ["/venv/bin/vng", "--disable-kvm"]
    opts = next(a for a in argv if a.startswith("--qemu-opts="))
    assert "restrict=on" in opts and "hostfwd=tcp:127.0.0.1:40000-:7000" in opts and "thread=multi" in opts
    assert "virtio-balloon-pci,free-page-reporting=on" in opts and "virtio_balloon" in argv[-1]
    assert "--idle" in argv[-1] and "softlockup_all_cpu_backtrace=1" in argv[argv.index("--append") + 1]
    assert "--token-file /var/lib/labkit/agent-x/token" in argv[-1]
    kvm = vm.vng_argv(Path("/boot/vmlinuz-6.12.1-amd64"), 40000, "kvm", Path("/t"))
    assert "--disable-kvm" not in kvm


@pytest.fixture
def guarded_agent(tmp_path: Path, monkeypatch):
    """The agent in this process on a free loopback port, asking for the token of a file made as the VM's is."""
    monkeypatch.setenv("LABKIT_STATE_DIR", str(tmp_path / "state"))
    token_file = vm.new_token()
    server = agent.Server(("127.0.0.1", 0), agent.Handler)
    server.token = token_file.read_text()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1], token_file
    server.shutdown()
    server.server_close()


def test_the_agent_runs_nothing_for_a_request_without_its_token(guarded_agent, tmp_path: Path, capsys):
    port, token_file = guarded_agent
    marker = tmp_path / "ran"
    for anyone in (AgentExecutor(port), AgentExecutor(port, tmp_path / "guessed")):
        if anyone.token_file:
            anyone.token_file.write_text("0" * 64)
        with pytest.raises(LabkitError, match="refused: no valid token"):
            anyone.run(["touch", str(marker)], timeout=5)
    assert not marker.exists()
    assert capsys.readouterr().out.count("refused a 'run' request without the agent's token") == 2
    assert AgentExecutor(port, token_file).run(["touch", str(marker)], timeout=5).ok and marker.exists()


def test_the_agents_token_is_root_s_alone(guarded_agent):
    _, token_file = guarded_agent
    assert (token_file.stat().st_mode & 0o777, token_file.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    assert len(token_file.read_text()) == 64


def test_the_agent_holds_receive_timestamps_on():
    """What keeps the guest kernel from live-patching its receive path whenever a ping starts or ends."""
    with agent.hold_rx_timestamps() as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, agent.SO_TIMESTAMP) == 1


def test_agent_executor_reports_an_absent_vm():
    with pytest.raises(LabkitError, match=r"does not answer on 127\.0\.0\.1:1"):
        AgentExecutor(1).run(["true"], timeout=1)


def test_clab_runtime_injects_faults_with_docker_exec(spec, monkeypatch):
    clab = ClabRuntime(spec)
    seen = []
    monkeypatch.setattr(clab.local, "run", lambda argv, timeout=60: seen.append(argv) or Completed(0, "ok\n", ""))
    assert clab.inject(fault_step(load_design(TOPOLOGIES / "phase3.yml"), "hub1", "node_fail")) == "ok\n"
    assert seen[0][:4] == ["docker", "exec", "clab-dmvpn-phase3-hub1", "sh"]
    assert "kill -9" in seen[0][-1] and '"link set $l down"' in seen[0][-1]


def test_a_large_lab_starts_its_nodes_a_few_at_a_time_in_the_labs_order(tmp_path: Path):
    design = load_design(TOPOLOGIES / "scale.yml", ("spokes.count=30",))
    spec = read_lab(generate(design, tmp_path).clab_file)
    executor = InitPids(spec, delay_s=0.05)
    said: list[str] = []
    NetnsLab(spec, executor).run_in_nodes([n.name for n in spec.nodes], netns.START, said.append)
    assert executor.most == netns.START_AT_ONCE
    assert [executor.node_of(argv) for argv, _, _ in executor.ran[:2]] == ["inet", "hub1"]
    assert said == [f"{n.name} ready" for n in spec.nodes]


def test_a_lab_does_not_own_the_namespaces_of_a_longer_named_lab():
    listed = ["dmvpn-phase3-hub1", "dmvpn-phase3-spoke1", "dmvpn-phase3-anna-hub1", "dmvpn-phase3-anna-spoke1",
              "dmvpn-phase1-hub1", "(id:", "0)"]
    labs = ["dmvpn-phase3", "dmvpn-phase3-anna", "dmvpn-phase1"]
    assert lab_namespaces("dmvpn-phase3", listed, labs) == ["dmvpn-phase3-hub1", "dmvpn-phase3-spoke1"]
    assert lab_namespaces("dmvpn-phase3-anna", listed, labs) == ["dmvpn-phase3-anna-hub1", "dmvpn-phase3-anna-spoke1"]
    # without the longer lab's record (left behind), its namespaces are the shorter lab's to remove
    assert len(lab_namespaces("dmvpn-phase3", listed, ["dmvpn-phase3"])) == 4


def test_the_guest_is_given_the_programs_its_nodes_run_and_the_libraries_they_link():
    files = warm_files()
    assert all(Path(f).is_file() for f in files) and len(files) == len(set(files))
    shell = str(Path(shutil.which("sh")).resolve())
    assert shell in files and any(Path(f).name.startswith("libc.so") for f in files)
    for tree in map(Path, TREES):  # what the routers load at start, where installed (FRR's YANG models...)
        assert all(str(f) in files for f in tree.rglob("*") if f.is_file())
