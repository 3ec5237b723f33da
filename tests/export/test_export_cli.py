"""``bnn-init export`` on bad input: exit 2 and one line that names the file or option."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bnn_init.cli import main


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "net.keras"
    tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)]).save(path)
    return path


def _one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_bad_files_and_options_give_one_line(tmp_path, capsys, saved_model):
    out = str(tmp_path / "net.tflite")
    err = _one_line_error(capsys, ["export", str(tmp_path / "missing.keras"), out])
    assert "missing.keras" in err and "no such file" in err
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip archive")
    assert "cannot be read as a Keras model" in _one_line_error(
        capsys, ["export", str(corrupt), out]
    )
    (tmp_path / "taken.tflite").write_bytes(b"old")
    err = _one_line_error(capsys, ["export", str(saved_model), str(tmp_path / "taken.tflite")])
    assert "pass --overwrite" in err
    assert (tmp_path / "taken.tflite").read_bytes() == b"old"
    err = _one_line_error(
        capsys, ["export", str(saved_model), out, "--int8", "--representative-data", "no.npy"]
    )
    assert "--representative-data 'no.npy': no such file" in err
    np.save(tmp_path / "wrong.npy", np.zeros((8, 5), np.float32))
    err = _one_line_error(
        capsys,
        [
            "export",
            str(saved_model),
            out,
            "--int8",
            "--representative-data",
            str(tmp_path / "wrong.npy"),
        ],
    )
    assert "has shape (8, 5); the model takes (examples, 4)" in err
    assert "representative" in _one_line_error(capsys, ["export", str(saved_model), out, "--int8"])
    assert list(tmp_path.glob("*.tflite")) == [tmp_path / "taken.tflite"]


def test_the_command_line_prints_no_tensorflow_start_up_lines(tmp_path):
    """On a CPU-only machine TensorFlow's native libraries print absl and CUDA notices at import;
    the command shows only its own line (``--verbose`` keeps them)."""
    script = Path(sys.executable).with_name("bnn-init")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [str(script), "export", str(tmp_path / "missing.keras"), str(tmp_path / "out.tflite")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"bnn-init: error: model_path={str(tmp_path / 'missing.keras')!r}: no such file or directory"
    ]


def test_export_creates_a_missing_folder_and_announces_the_file(tmp_path, capsys, saved_model):
    out = tmp_path / "new" / "deeper" / "net.tflite"
    assert main(["export", str(saved_model), str(out)]) == 0
    assert out.stat().st_size > 0
    assert f"wrote {out.resolve()}" in capsys.readouterr().out
