"""Renderers: golden files, byte-identical regeneration, containerlab schema, what the runtime reads back."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import pytest
import yaml

from labkit.design import load_design
from labkit.render.generate import generate, node_files
from labkit.render.graph import render_graph
from labkit.runtime.labspec import read_lab
from tests.conftest import GOLDEN, ROOT, SCHEMA_DIR, TOPOLOGIES

DESIGNS = sorted(TOPOLOGIES.glob("*.yml"))
UPDATE = os.environ.get("LABKIT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_rendered_files_match_golden(design_file: Path, monkeypatch):
    monkeypatch.chdir(TOPOLOGIES.parent)  # the design path printed in headers is relative, as `make` uses it
    design = load_design(design_file.relative_to(TOPOLOGIES.parent))
    # the ESR configurations' golden files are the committed configs/<lab>/ (tests/unit/test_configs.py)
    files = {rel: file for rel, file in node_files(design).items() if not rel.startswith("esr/")}
    golden = GOLDEN / design_file.stem
    if UPDATE:
        for rel, (text, _) in files.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(text)
    expected = {p.relative_to(golden).as_posix() for p in golden.rglob("*") if p.is_file()}
    assert expected == set(files), "set of generated files changed (LABKIT_UPDATE_GOLDEN=1 to accept)"
    for rel, (text, _) in files.items():
        assert text == (golden / rel).read_text(), f"{rel} differs from tests/golden (LABKIT_UPDATE_GOLDEN=1)"


def test_generation_is_byte_identical(tmp_path: Path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    first = generate(design, tmp_path / "a")
    second = generate(design, tmp_path / "b")
    files_a = sorted(p.relative_to(first.path) for p in first.path.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second.path) for p in second.path.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (first.path / rel).read_bytes() == (second.path / rel).read_bytes()
        assert (first.path / rel).stat().st_mode == (second.path / rel).stat().st_mode
    assert ((first.path / "nodes/hub1/swanctl/swanctl.conf").stat().st_mode & 0o777) == 0o600


def clab_schema() -> dict:
    """containerlab's schema, its Go-style Unicode classes (\\p{N}, \\p{L}; only in IP zone suffixes)
    rewritten as ASCII classes so that Python's `re` can evaluate the patterns."""
    schema_file = SCHEMA_DIR / "clab.schema.json"
    assert schema_file.exists(), f"containerlab schema not found at {schema_file} (set LABKIT_SCHEMA_DIR)"
    text = schema_file.read_text().replace("\\\\p{N}", "0-9").replace("\\\\p{L}", "a-zA-Z")
    return json.loads(text)


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_clab_topology_follows_containerlab_schema(design_file: Path, tmp_path: Path):
    build = generate(load_design(design_file), tmp_path)
    document = yaml.safe_load(build.clab_file.read_text())
    schema = clab_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(document, schema)
    broken = dict(document, topology={"nodes": {"x": {"kind": 42}}})
    with pytest.raises(jsonschema.ValidationError):  # the schema really constrains topologies
        jsonschema.validate(broken, schema)
    nodes = document["topology"]["nodes"]
    for name, node in nodes.items():
        assert node["kind"] == "linux" and node["image"] and node["mgmt-ipv4"]
        for bind in node["binds"]:
            source = bind.split(":")[0]
            assert (build.path / source).is_dir(), f"{name}: bind source {source} missing"
    mgmt = [n["mgmt-ipv4"] for n in nodes.values()]
    assert len(set(mgmt)) == len(mgmt)


def test_runtime_reads_back_the_clab_file(tmp_path: Path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    spec = read_lab(generate(design, tmp_path).clab_file)
    assert spec.name == design.lab
    assert [n.name for n in spec.nodes] == ["inet", "hub1", "spoke1", "spoke2", "spoke3"]
    assert {(link.a, link.a_if, link.b, link.b_if) for link in spec.links} == {
        ("inet", f"eth{i}", site.name, "eth1") for i, site in enumerate(design.sites, start=1)}
    hub = spec.node("hub1")
    assert hub.role == "hub"
    assert {target for _, target in hub.binds} == {"/etc/frr", "/etc/swanctl", "/etc/labkit"}
    assert all(source.is_absolute() and source.exists() for source, _ in hub.binds)


def test_phase_knobs_land_where_the_phase_needs_them():
    design = load_design(TOPOLOGIES / "phase3.yml")
    files = node_files(design)
    hub, spoke = files["nodes/hub1/frr/frr.conf"][0], files["nodes/spoke1/frr/frr.conf"][0]
    assert "ip nhrp redirect" in hub and "ip nhrp shortcut" not in hub
    assert "ip nhrp shortcut" in spoke and "ip nhrp redirect" not in spoke
    assert "aggregate-address 172.16.0.0/16 summary-only" in hub
    assert "ip nhrp nhs dynamic nbma 198.51.100.2" in spoke
    assert "NFLOG --nflog-group 1" in files["nodes/hub1/labkit/start.sh"][0]


def test_secret_stays_out_of_esr_configs_and_topology():
    design = load_design(TOPOLOGIES / "phase3.yml")
    files = node_files(design)
    assert design.ipsec.psk in files["nodes/hub1/swanctl/swanctl.conf"][0]
    leaking = [rel for rel, (text, _) in files.items() if design.ipsec.psk in text and not rel.endswith("swanctl.conf")]
    assert leaking == []


def test_node_image_has_every_package_the_nodes_use():
    """The containerlab image installs what the embedded runtime's nodes use (the packages only the host
    side needs aside: the microVM, the virtualenv, ssh towards real routers)."""
    makefile = (ROOT / "Makefile").read_text()
    listed = makefile.split("DEBIAN_PACKAGES :=", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ").split()
    vm_only = {"qemu-system-x86", "linux-image-amd64", "busybox-static", "python3-venv", "openssh-client"}
    dockerfile = (ROOT / "docker" / "node" / "Dockerfile").read_text()
    missing = [p for p in listed if p not in vm_only and p not in dockerfile.split()]
    assert missing == [], f"docker/node/Dockerfile lacks {missing}"
    assert 'ENTRYPOINT ["/usr/local/bin/labkit-node"]' in dockerfile


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_graph_draws_every_node_link_and_tunnel(design_file: Path, tmp_path: Path):
    design = load_design(design_file)
    svg, mermaid = render_graph(design, tmp_path)
    root = ElementTree.parse(svg).getroot()
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(design.node_names) <= texts
    lines = root.findall("{http://www.w3.org/2000/svg}line")
    tunnels = len(design.spokes) * len(design.nhs)
    assert sum(1 for line in lines if line.get("stroke-dasharray")) == tunnels
    text = mermaid.read_text()
    assert text.count("-. mGRE + IPsec .-") == tunnels
    for site in design.sites:
        assert f"{site.name} --- {design.transport.name}" in text
