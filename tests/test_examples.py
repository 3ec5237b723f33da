"""Every example runs, in its quick mode, as a user would run it (a fresh Python process)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# export_int8.py runs in tests/export/test_export.py.
QUICK = [
    "critical_init.py",
    "monitor_quicknet.py",
    "mfb_teacher_student.py",
    "surrogate_to_binary.py",
]


def _run(args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("example", QUICK)
def test_example_runs_quick(example, tmp_path):
    if not (EXAMPLES / example).exists():
        pytest.fail(f"examples/{example} is missing")
    assert _run([str(EXAMPLES / example), "--quick"], cwd=tmp_path).strip()


def test_multiworker_example_two_local_workers_finish_with_identical_weights(tmp_path):
    out = tmp_path / "mw"
    printed = _run(
        [str(EXAMPLES / "multiworker.py"), "--workers", "2", "--quick", "--out", str(out)],
        cwd=tmp_path,
    )
    assert "identical weights: True" in printed
    first, second = np.load(out / "weights_0.npz"), np.load(out / "weights_1.npz")
    assert first.files == second.files and len(first.files) > 0
    assert (out / "logs" / "measured").is_dir()
