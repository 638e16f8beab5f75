"""The lab as namespaces of this host's kernel, for hosts whose kernel has GRE and ESP."""

from __future__ import annotations

from labkit.runtime.base import Say
from labkit.runtime.executor import LocalExecutor
from labkit.runtime.labspec import LabSpec
from labkit.runtime.netns import NetnsLab, NetnsRuntime
from labkit.runtime.scheduler import SCHEDULER

PROBE = """
set -e
ns=labkit-probe-$$
ip netns add $ns
trap 'ip netns del $ns' EXIT
ip -n $ns link add probe-gre type gre key 1 ttl 64
ip -n $ns xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode transport \
  aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128
"""


def kernel_can_run_dmvpn() -> bool:
    """True when this kernel creates GRE tunnels and ESP states (tried in a throwaway namespace)."""
    return LocalExecutor().run(["sh", "-c", PROBE], timeout=20).ok


class HostNetnsRuntime(NetnsRuntime):
    name = "netns"

    def __init__(self, spec: LabSpec):
        super().__init__(spec)
        self.lab = NetnsLab(spec, LocalExecutor())

    def up(self, say: Say) -> None:
        self.write_record()
        self.timings = self.lab.up(say)

    def down(self, say: Say) -> None:
        with SCHEDULER.burst(self.spec.name, "teardown", cores=1):  # the kernel frees namespaces in one thread
            removed = self.lab.down()
        self.drop_record()
        say(f"removed {len(removed)} namespaces")

    def status(self) -> dict[str, dict[str, str]]:
        return self.lab.status()

