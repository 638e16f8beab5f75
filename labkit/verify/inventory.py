"""An inventory of real routers for `labkit verify --inventory`: hosts and platform per node; the
credentials come from environment variables it names, never from the file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from labkit.errors import LabkitError

PLATFORMS = {"eltex_esr": "eltex-esr"}  # scrapli platform -> labkit platform definition
SECRET_KEYS = {"password", "auth_password", "secret", "username", "auth_username"}


@dataclass(frozen=True)
class Host:
    name: str
    host: str
    port: int
    platform: str  # scrapli platform, e.g. eltex_esr
    timeout: float = 30  # seconds to connect and log in

    @property
    def labkit_platform(self) -> str:
        return PLATFORMS[self.platform]


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: dict[str, Host]
    username_env: str
    password_env: str

    def credentials(self) -> tuple[str, str]:
        """(username, password) from the environment; an error names the variables that are not set."""
        missing = [v for v in (self.username_env, self.password_env) if not os.environ.get(v)]
        if missing:
            raise LabkitError(f"{self.path}: set the credentials in the environment: {', '.join(missing)} "
                              "(never in the inventory file)")
        return os.environ[self.username_env], os.environ[self.password_env]


def load_inventory(path: Path) -> Inventory:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise LabkitError(f"{path}: cannot read the inventory ({exc.strerror})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("hosts"), dict) or not raw["hosts"]:
        raise LabkitError(f"{path}: hosts: a mapping of node name to {{host: ADDRESS}} is required")
    creds = raw.get("credentials") or {}
    defaults = raw.get("defaults") or {}
    hosts = {}
    for name, entry in raw["hosts"].items():
        entry = {**defaults, **(entry or {})}
        leaked = SECRET_KEYS & set(entry) | SECRET_KEYS & set(creds)
        if leaked:
            raise LabkitError(f"{path}: hosts.{name}: {', '.join(sorted(leaked))} must not be stored in the "
                              "inventory; name environment variables under credentials: instead")
        if "host" not in entry:
            raise LabkitError(f"{path}: hosts.{name}.host is required (the router's management address)")
        platform = entry.get("platform", "eltex_esr")
        if platform not in PLATFORMS:
            raise LabkitError(f"{path}: hosts.{name}.platform {platform!r} is not supported; use one of: "
                              f"{', '.join(PLATFORMS)}")
        hosts[str(name)] = Host(str(name), str(entry["host"]), int(entry.get("port", 22)), platform,
                                float(entry.get("timeout", 30)))
    return Inventory(path=path, hosts=hosts, username_env=creds.get("username_env", "LABKIT_ESR_USERNAME"),
                     password_env=creds.get("password_env", "LABKIT_ESR_PASSWORD"))
