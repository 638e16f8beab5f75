"""The core speaks DMVPN, not a platform: no module outside labkit/platforms/ names a platform's daemon, command
line or configuration syntax in its code (identifiers and strings). Comments and docstrings may cite a platform's
behaviour as the reason for a value; what a platform does and how it is asked is in its package."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = ROOT / "labkit"
# daemons and command lines of the lab's stand-in, and the ESR's configuration keywords
WORDS = re.compile(r"\b(vtysh|swanctl|charon|frr|strongswan|nhrpd|bgpd|zebra|bfdd|ospfd|ldpd|keepalived|"
                   r"ip nhrp|security ike|security ipsec|tunnel gre|router bgp|establish-tunnel|show ip)\b", re.I)


def _docstrings(tree: ast.AST) -> set[int]:
    """The line numbers where docstrings start."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                lines.add(first.lineno)
    return lines


def mentions(path: Path) -> list[str]:
    """`line: token` for each identifier or string (not a docstring) of the module naming a platform's word."""
    text = path.read_text()
    docstrings = _docstrings(ast.parse(text))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in (tokenize.NAME, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
            continue
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if WORDS.search(token.string.replace("_", " ")):
            found.append(f"{token.start[0]}: {token.string[:80]}")
    return found


CORE_MODULES = sorted(p for p in CORE.rglob("*.py") if "platforms" not in p.relative_to(CORE).parts)


@pytest.mark.parametrize("module", CORE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_core_module_names_no_platform(module: Path):
    assert not mentions(module), f"{module.relative_to(ROOT)} names a platform's daemon or syntax (move it into " \
                                 f"labkit/platforms/<package>/): {mentions(module)}"


def test_the_word_list_catches_what_it_is_for(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Cites FRR nhrpd as the reason."""\n# vtysh in a comment\nCOMMAND = "show ip nhrp"\n'
                      'swanctl_conf = 1\n')
    assert [m.split(":")[0] for m in mentions(sample)] == ["3", "4"]
