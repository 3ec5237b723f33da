"""`bnn-init demo --quick` end to end, in a subprocess, as a new user would run it."""

import os
import subprocess
import sys
from pathlib import Path

import larq_compute_engine as lce
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def test_demo_quick_end_to_end(tmp_path):
    out = tmp_path / "demo"
    script = Path(sys.executable).with_name("bnn-init")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    result = subprocess.run(
        [str(script), "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout
    for line in (
        "test accuracy, critical init (Keras)",
        "test accuracy, exported (LCE interpreter)",
        "file size: BNN / float",
        "latency, 1 thread: BNN / float",
        "LceBconv2d",
        "glorot_uniform",
        "too deep to train from this initialisation; fix: sigma_w2 =",
        f"tensorboard --logdir {out}",
    ):
        assert line in printed, line

    for run in ("critical", "glorot_uniform"):
        for sub in ("measured", "theory"):
            events = EventAccumulator(str(out / run / sub), size_guidance={"tensors": 0}).Reload()
            tags = events.Tags()["tensors"]
            assert "signal_propagation/layer_01/q" in tags, (run, sub, tags[:5])
            assert "signal_propagation/layer_20/c" in tags

    for png in (
        "phase_diagram.png",
        "signal_critical.png",
        "signal_glorot_uniform.png",
        "training_curves.png",
    ):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / png).stat().st_size > 10_000

    interpreter = lce.testing.Interpreter((out / "bnn.tflite").read_bytes())
    logits = interpreter.predict(np.zeros((2, 64), np.float32))
    assert np.asarray(logits).shape == (2, 10)


def test_demo_refuses_an_output_that_is_a_file(tmp_path, capsys):
    from bnn_init.cli import main

    taken = tmp_path / "results"
    taken.write_text("mine")
    assert main(["demo", "--quick", "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert "is a file; give a directory" in err and "Traceback" not in err
    assert taken.read_text() == "mine"
