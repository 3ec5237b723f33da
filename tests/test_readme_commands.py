"""Every command the README shows runs as written, in order, from a fresh folder: the `bnn-init`
lines of its shell blocks (each a fresh process; `export` reads what `demo` wrote) and its Python
blocks (one fresh interpreter, in order: the export example exports the Quickstart's model).

The demo's output is checked here too (this is its end-to-end test): TensorBoard runs for every
layer, figures, an exported model that runs in the LCE interpreter, and training that ends near
its best epoch."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import larq_compute_engine as lce
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow  # end to end: the slow tier (make test-slow)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SCRIPT = Path(sys.executable).with_name("bnn-init")


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def readme_commands() -> list[str]:
    """The `bnn-init ...` lines of the README's shell blocks, comments removed."""
    lines = (line.split("  #")[0].strip() for block in _blocks("sh") for line in block.splitlines())
    return [line for line in lines if line.startswith("bnn-init ")]


def _env():
    return {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}


def _check_demo(out: Path, printed: str):
    for run in ("critical", "glorot_uniform"):
        for sub in ("measured", "theory"):
            events = EventAccumulator(str(out / run / sub), size_guidance={"tensors": 0}).Reload()
            tags = events.Tags()["tensors"]
            assert "signal_propagation/layer_01/q" in tags, (run, sub, tags[:5])
            assert "signal_propagation/layer_20/c" in tags
    for png in ("phase_diagram", "signal_critical", "signal_glorot_uniform", "training_curves"):
        data = (out / f"{png}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, png
    logits = lce.testing.Interpreter((out / "bnn.tflite").read_bytes()).predict(
        np.zeros((2, 64), np.float32)
    )
    assert np.asarray(logits).shape == (2, 10)
    for line in (
        "too deep to train from this initialisation; fix: sigma_w2 =",
        "SignalPropagationMonitor: epoch 2: last-layer correlation",
        f"tensorboard --logdir {out.resolve()}",
        f"wrote {(out / 'bnn.keras').resolve()}",
    ):
        assert line in printed, line
    # trains cleanly: the last epoch's test accuracy is the best epoch's within 2 points
    best, last = re.search(
        r"best epoch's test accuracy\s+([\d.]+) \(epoch \d+ of \d+; last ([\d.]+)\)", printed
    ).groups()
    assert float(best) - float(last) <= 0.02, (best, last)


def test_readme_lists_every_command_of_the_cli():
    from bnn_init.cli import PLUGIN_COMMANDS

    shown = {shlex.split(command)[1] for command in readme_commands()}
    assert {"critical", "depth-scales", "phase-diagram", *PLUGIN_COMMANDS} <= shown


def test_every_readme_command_runs_as_written(tmp_path):
    for command in readme_commands():
        argv = shlex.split(command)
        done = subprocess.run(
            [str(SCRIPT), *argv[1:]],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (command, done.stderr[-3000:])
        assert "Traceback" not in done.stderr, command
        if argv[1] == "demo":
            _check_demo(tmp_path / "runs" / "demo", done.stdout)
    assert (tmp_path / "runs" / "tanh" / "phase_diagram.csv").exists()
    assert (tmp_path / "runs" / "demo" / "bnn_int8.tflite").stat().st_size > 1000
    assert (tmp_path / "runs" / "monitor-demo" / "critical" / "measured").is_dir()


def test_readme_python_blocks_run_in_order(tmp_path):
    source = "\n".join(_blocks("python"))
    done = subprocess.run(
        [sys.executable, "-c", source],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model.tflite").stat().st_size > 1000
    assert (tmp_path / "logs" / "measured").is_dir()
