"""The built wheel, installed into a fresh virtual environment, works without the checkout.

The wheel is built from this tree (`python -m build --no-isolation`, the build requirements are in
the test environment) and installed with pip into a new venv. Its dependencies (TensorFlow, Larq,
...: hundreds of MB) are not downloaded again: the new venv sees the test environment's
site-packages through a path file, after its own, so `bnn_init` comes from the wheel and the test
checks that every requirement the wheel declares is satisfied there. PYTHONPATH is dropped for
every command, so a checkout on it cannot stand in for the wheel."""

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _run(args, **kwargs):
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=600, env=CLEAN_ENV, **kwargs
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)]
    _run([*build, str(ROOT)])
    (wheel,) = dist.glob("bnn_init-*.whl")
    _run([sys.executable, "-m", "twine", "check", "--strict", str(wheel)])

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, script = env_dir / "bin" / "python", env_dir / "bin" / "bnn-init"
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    fresh_site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    )
    (fresh_site / "test_env_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = _run([python, "-c", "import bnn_init, sys; print(bnn_init.__file__)"], cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(env_dir), where
    unmet = _run(
        [
            python,
            "-c",
            "from importlib.metadata import requires, version; from packaging.requirements import "
            "Requirement\nfor r in map(Requirement, requires('bnn-init')):\n if r.marker is None and "
            "not r.specifier.contains(version(r.name), prereleases=True): print(r)",
        ],
        cwd=tmp_path,
    )
    assert unmet == "", unmet

    assert "critical" in _run([script, "--help"], cwd=tmp_path)
    answer = json.loads(
        _run([script, "critical", "--model", "hard_tanh", "--r", "0.5", "--json"], cwd=tmp_path)
    )
    assert answer["params"]["sigma_w2"] == 0.25  # sigma_w2 = r^2 at sigma_b2 = 0
