"""Integration: the real ``tensorboard`` server reads the monitor's log directory; scalars of both
runs and the custom-scalars layout come back through its HTTP API.

The server picks its own free port (``--port 0``) and says it on stderr, so no other process can
take a port between our choosing it and the server binding it."""

import bnn_init  # noqa: F401  (first: selects tf-keras)

# isort: split
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import tensorflow as tf

from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.testing import compiled_classifier, random_classification

TENSORBOARD = Path(sys.executable).with_name("tensorboard")
DEADLINE_S = 180.0  # TensorBoard's start-up on a loaded 2-core machine


def serving_url(server, deadline):
    """The URL the server prints (``TensorBoard 2.x at http://127.0.0.1:PORT/``) once it listens;
    its stderr is read to the end in the background, so the pipe never fills."""
    found, said = [], threading.Event()

    def read():
        for line in server.stderr:
            match = re.search(r" at (http://\S+?)/? ", line)
            if match and not found:
                found.append(match.group(1))
                said.set()

    threading.Thread(target=read, daemon=True).start()
    said.wait(max(0.0, deadline - time.monotonic()))
    assert found, f"tensorboard did not say where it serves within {DEADLINE_S:g} s"
    return found[0]


def get_json(base, path, **query):
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.skipif(not TENSORBOARD.exists(), reason="no tensorboard console script beside python")
def test_tensorboard_server_serves_scalars_and_layout(tmp_path):
    model = tf.keras.Sequential(
        [tf.keras.Input((8,))]
        + [tf.keras.layers.Dense(32, activation="tanh") for _ in range(3)]
        + [tf.keras.layers.Dense(4)]
    )
    compiled_classifier(model, "sgd")
    x, y = random_classification(64, 8, 4, seed=0)
    monitor = SignalPropagationMonitor(x[:32], y[:32], log_dir=tmp_path)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[monitor])
    expected_q = monitor.latest["measured"]["q"][1]

    server = subprocess.Popen(
        [str(TENSORBOARD), "--logdir", str(tmp_path), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        base = serving_url(server, deadline)
        runs = []
        while time.monotonic() < deadline and not {"measured", "theory"} <= set(runs):
            assert server.poll() is None, "tensorboard exited early"
            try:
                runs = get_json(base, "/data/runs")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        assert {"measured", "theory"} <= set(runs), f"runs after {DEADLINE_S:g} s: {runs}"

        tag = "signal_propagation/layer_02/q"
        for run in ("measured", "theory"):
            points = get_json(base, "/data/plugin/scalars/scalars", run=run, tag=tag)
            assert [step for _, step, _ in points] == [0, 2, 4]
        measured = get_json(base, "/data/plugin/scalars/scalars", run="measured", tag=tag)
        assert measured[-1][2] == pytest.approx(expected_q, rel=1e-6)

        tags = get_json(base, "/data/plugin/scalars/tags")
        assert {"signal_propagation/layer_04/grad_var", "signal_propagation/layer_01/c"} <= set(
            tags["theory"]
        )
        layout = get_json(base, "/data/plugin/custom_scalars/layout")
        charts = {
            category["title"]: [chart["multiline"]["tag"][0] for chart in category["chart"]]
            for category in layout["category"]
        }
        q_category = next(title for title in charts if "q^l" in title)
        assert charts[q_category] == [f"^signal_propagation/layer_{n:02d}/q$" for n in range(1, 5)]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
