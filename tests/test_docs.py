"""The documentation: the API site builds in strict mode (a broken reference or a docstring that
names a parameter the function lacks fails), the pages that list what the code does match the
code, and nothing points at material a user does not have."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bnn_init.graph import registry
from bnn_init.quantizer_kinds import HARD_TANH, SCALED_SIGN, SIGN_LIKE

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_api_site_builds_strictly(tmp_path):
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)]
    done = subprocess.run(mkdocs, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    pages = {
        "theory": "HardTanhBNN",
        "export": "export_lce",
        "callbacks": "SignalPropagationMonitor",
        "initializers": "CriticalHardTanhNormal",
    }
    for page, name in pages.items():
        assert name in (tmp_path / "api" / page / "index.html").read_text(), page


def test_supported_page_names_every_mapped_layer_and_quantizer():
    text = (DOCS / "supported.md").read_text()
    named = set(re.findall(r"`([A-Za-z_0-9.]+)`", text))
    missing = sorted(set(registry._REGISTRY) - named)  # noqa: SLF001 (the registry's own keys)
    assert not missing, f"docs/supported.md does not name {missing}"
    quantizers = SIGN_LIKE | SCALED_SIGN | HARD_TANH | {"dorefa", "ste_tern", "ste_heaviside"}
    assert not sorted(quantizers - named)


def _test_functions(path: Path) -> set:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_errata_evidence_names_tests_that_exist():
    text = (DOCS / "errata.md").read_text()
    # a bare "`::name`" is a test in the file named just before it
    items = re.findall(r"`(tests/[\w/]+\.py)?::(\w+)`|`(tests/[\w/]+\.py)`", text)
    assert len(items) >= 12
    current = None
    for file_, name, bare in items:
        current = file_ or bare or current
        path = ROOT / current
        assert path.exists(), current
        if name:
            assert name in _test_functions(path), f"{current}::{name}"


_PRIVATE = re.compile(r"\.\./shared|seeds/|ERRATA|\((00[0-4])\)|\b00[0-4] (eq|Fig|sec|Table)")


@pytest.mark.parametrize(
    "folder", ["bnn_init", "tests", "benchmarks", "examples", "scripts", "docs"]
)
def test_nothing_points_at_material_users_lack(folder):
    """Papers are cited by authors and year (docs/references.md), errata by docs/errata.md's
    numbers; no private file names or folders outside the repository."""
    me = Path(__file__).resolve()
    hits = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in {".py", ".md", ".txt"} and path.resolve() != me:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _PRIVATE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    if folder == "docs":
        readme = (ROOT / "README.md").read_text().splitlines()
        hits += [f"README.md:{i}" for i, line in enumerate(readme, 1) if _PRIVATE.search(line)]
    assert not hits, "\n".join(hits[:20])
