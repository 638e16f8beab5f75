"""The files every lab node runs, copied into the microVM's memory once it boots.

The guest reads the host's root filesystem through 9p without a cache: every program started and every library it
maps crosses to QEMU and back, which under software emulation made a phase 3 bring-up spend about a quarter of its
CPU time reading files. Touching a file in the guest's throw-away overlay copies it up into the guest's RAM (tmpfs),
where every later read stays: the routers' programs, what they load (the lab platform's modules and plugins,
iptables' extensions) and every library those link, about 60 MiB. Nothing on the host changes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from labkit.platforms import lab_node

# programs the nodes' start scripts, the fault library and the checks run, besides the routers' daemons
TOOLS = (
    "sh", "dash", "bash", "ip", "iptables", "xtables-nft-multi", "sysctl", "ping", "tcpdump", "traceroute", "nsenter",
    "unshare", "mount", "umount", "mkdir", "sleep", "nohup", "install", "timeout", "kill", "cat", "rm", "ln", "sync",
    "find", "grep", "sed", "awk", "cut", "tail", "head", "tr", "xargs", "readlink", "basename", "date", "hostname",
    "ls", "chown", "chmod", "stat", "printf", "seq", "wc", "sort", "setsid",
)
# folders of programs and of what they load at start (besides the lab platform's own: labkit.platforms.NodeKit)
TREES = ("/usr/lib/x86_64-linux-gnu/xtables", "/etc/iproute2")
FILES = ("/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/protocols", "/etc/services")
LIBRARY = re.compile(r"(/\S+) \(0x[0-9a-f]+\)")


def warm_files() -> list[str]:
    """Every file to copy up: the tools and the trees' files, and the libraries each program links."""
    kit = lab_node()
    programs = {str(Path(p).resolve()) for p in map(shutil.which, TOOLS + kit.warm_programs) if p}
    trees = {str(f) for tree in map(Path, TREES + kit.warm_trees) if tree.is_dir() for f in tree.rglob("*")
             if f.is_file()}
    executables = sorted(programs | {f for f in trees if Path(f).stat().st_mode & 0o111 or ".so" in f})
    libraries = set()
    for chunk in range(0, len(executables), 64):
        out = subprocess.run(["ldd", *executables[chunk:chunk + 64]], capture_output=True, text=True,
                             check=False).stdout
        libraries |= {str(Path(m).resolve()) for m in LIBRARY.findall(out)}
    return sorted(programs | trees | libraries | {f for f in FILES if Path(f).is_file()})


def warm_command() -> list[str]:
    """The guest's command that copies up the files it is given on its standard input (one path a line)."""
    return ["sh", "-c", "xargs touch -c -a 2>/dev/null; true"]
