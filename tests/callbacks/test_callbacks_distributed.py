"""SignalPropagationMonitor under tf.distribute.MirroredStrategy with two logical CPU devices, and
under MultiWorkerMirroredStrategy with two worker processes on this machine.

Logical devices and clusters must be configured before TensorFlow initialises, so the checks run
in fresh interpreters and report their numbers as JSON.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import bnn_init
    import larq as lq
    import numpy as np
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from bnn_init.callbacks import SignalPropagationMonitor
    from bnn_init.initializers import CriticalHardTanhNormal
    from bnn_init.quantizers import HardTanh

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = tf.keras.Sequential([tf.keras.Input((16,))])
        for index in range(4):
            model.add(lq.layers.QuantDense(
                10 if index == 3 else 32, input_quantizer=None if index == 0 else HardTanh(1.0),
                kernel_quantizer=HardTanh(1.0), kernel_initializer=CriticalHardTanhNormal(seed=index)))
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 16)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    monitor = SignalPropagationMonitor(x[:32], y[:32], log_dir=sys.argv[1], every_n_steps=2)
    history = model.fit(x, y, batch_size=32, epochs=2, callbacks=[monitor], verbose=0)
    accumulator = event_accumulator.EventAccumulator(
        os.path.join(sys.argv[1], "measured"), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    steps = [e.step for e in accumulator.Tensors("signal_propagation/layer_01/q")]
    # the first layer's pre-activation from the weights, without the monitor
    kernel = np.clip(model.layers[0].kernel.numpy(), -1.0, 1.0)
    h1 = x[:32] @ kernel + model.layers[0].bias.numpy()
    logits = model.predict(x[:32], verbose=0)
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    print(json.dumps(dict(
        replicas=strategy.num_replicas_in_sync,
        steps=steps,
        measured_q1=float(monitor.latest["measured"]["q"][0]),
        direct_q1=float(np.mean(h1 ** 2)),
        measured_grad_last=float(monitor.latest["measured"]["grad_var"][-1]),
        direct_grad_last=float(np.mean((softmax - np.eye(10)[y[:32]]) ** 2)),
        history=sorted(monitor.history),
    )))
    """
)


def test_monitor_under_mirrored_strategy(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["steps"] == [0, 2, 4, 6, 8]
    np.testing.assert_allclose(report["measured_q1"], report["direct_q1"], rtol=1e-4)
    np.testing.assert_allclose(report["measured_grad_last"], report["direct_grad_last"], rtol=1e-4)
    assert {"sp_c_last", "sp_grad_ratio", "sp_sign_flips"} <= set(report["history"])


WORKER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import bnn_init
    import larq as lq
    import numpy as np
    import tensorflow as tf
    from bnn_init.callbacks import SignalPropagationMonitor

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        tf.keras.utils.set_random_seed(0)
        inputs = tf.keras.Input((8, 8, 3))
        x = tf.keras.layers.Conv2D(16, 3, padding="same")(inputs)
        x = tf.keras.layers.BatchNormalization()(x)
        y = lq.layers.QuantConv2D(16, 3, padding="same", input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign")(x)
        x = tf.keras.layers.Add()([x, tf.keras.layers.BatchNormalization()(y)])
        x = tf.keras.layers.GlobalAveragePooling2D()(x)
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))
        model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    monitor = SignalPropagationMonitor(x[:32], y[:32], log_dir=sys.argv[1])
    history = model.fit(x, y, batch_size=32, epochs=2, callbacks=[monitor], verbose=0)
    print(json.dumps(dict(
        q=monitor.latest["measured"]["q"].tolist(),
        local_q=monitor.latest["local"]["q"].tolist(),
        history=sorted(monitor.history),
    )))
    """
)


def _free_ports(count):
    """Ports free now (held open together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_two_workers(log_dir):
    """(return codes, stdouts, stderrs) of a two-worker cluster on this machine; new ports and
    a new try when another process took a port between choosing and binding it."""
    for _ in range(3):
        ports = _free_ports(2)
        cluster = {"worker": [f"localhost:{port}" for port in ports]}
        workers = []
        for index in range(2):
            config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=config)
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, str(log_dir)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        outputs = [worker.communicate(timeout=300) for worker in workers]
        codes = [worker.returncode for worker in workers]
        if not any("address already in use" in err.lower() for _, err in outputs):
            break
    return codes, [out for out, _ in outputs], [err for _, err in outputs]


def test_monitor_under_multi_worker_mirrored_strategy_writes_once(tmp_path):
    """Two workers train a BatchNorm residual model with the monitor to the end (no deadlock);
    both measure the same numbers, only the chief (worker 0) writes the three runs."""
    codes, stdouts, stderrs = _run_two_workers(tmp_path)
    assert codes == [0, 0], "\n".join(err[-2000:] for err in stderrs)
    reports = [json.loads(out.strip().splitlines()[-1]) for out in stdouts]
    np.testing.assert_allclose(reports[0]["q"], reports[1]["q"], rtol=1e-5)
    assert np.all(np.isfinite(reports[0]["local_q"]))
    assert {"sp_c_last", "sp_grad_ratio"} <= set(reports[1]["history"])
    for run in ("measured", "theory", "theory_local"):
        assert len(list((tmp_path / run).glob("events.out.tfevents.*"))) == 1, run
