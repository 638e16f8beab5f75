"""Adding a branch touches only the branch: hubs take any number of spokes through one listen range, so a
new spoke changes no file of an existing hub or spoke (lab or ESR)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.diff import LAB_FILE, compare, rendered_files
from labkit.plan import plan_design
from labkit.render.generate import device_config
from tests.conftest import TOPOLOGIES

DESIGNS = sorted(TOPOLOGIES.glob("*.yml"))


COUNT = re.compile(r"^(\s*count:\s*)\d+", re.MULTILINE)


def _with_count(design_file: Path, count: int, folder: Path, default_pools: bool = False) -> Path:
    """The design with `count` spokes, optionally with the pools left to their defaults (sized from the count)."""
    text = design_file.read_text()
    assert COUNT.search(text), f"{design_file} does not derive its spokes from a count"
    pools = ("wan_pool:", "tunnel_network:", "lan_pool:")
    text = "".join(line for line in text.splitlines(keepends=True)
                   if not (default_pools and line.strip().startswith(pools)))
    path = folder / f"{count}" / design_file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(COUNT.sub(rf"\g<1>{count}", text, count=1))
    return path


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_adding_a_spoke_changes_only_the_new_spoke_and_the_transport(design_file: Path, tmp_path: Path):
    old = load_design(design_file)
    added = len(old.spokes) + 1
    new = load_design(_with_count(design_file, added, tmp_path))
    # rendered_files replaces the design file's path, which headers name, by `<design>`
    devices = compare(rendered_files(old, tmp_path / "old"), rendered_files(new, tmp_path / "new"), lab_files=True)
    changed = {d.name: d.status for d in devices if d.status != "unchanged"}
    assert changed == {f"spoke{added}": "added", new.transport.name: "changed", LAB_FILE: "changed"}
    lab = next(d for d in devices if d.name == LAB_FILE)
    assert list(lab.diffs) == [f"{new.lab}.clab.yml"]
    devices_of_sites = {s.name for s in old.sites} | {p.device for p in plan_design(old).values()}  # a cluster's too
    assert {d.name for d in devices if d.status == "unchanged"} == devices_of_sites | (
        {old.headquarters.name} if old.headquarters else set())


def test_hub_config_has_the_same_length_for_3_and_1000_spokes(tmp_path: Path):
    """Default pools sized from the count; only the hub is rendered (about 0.2 s for 1,000 spokes)."""
    lengths = {}
    for count in (3, 1000):
        design = load_design(_with_count(TOPOLOGIES / "phase3.yml", count, tmp_path, default_pools=True))
        assert len(design.spokes) == count
        config = device_config(design, design.site("hub1"))
        assert str(design.spokes[-1].tunnel) not in config  # no spoke is listed on the hub
        lengths[count] = len(config.splitlines())
    assert lengths[3] == lengths[1000]
