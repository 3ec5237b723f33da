"""Multi-worker training of a critically initialised hard-tanh BNN with the signal monitor.

Runs as several worker processes of `tf.distribute.MultiWorkerMirroredStrategy` on 127.0.0.1.
Without ``--worker`` it starts the whole cluster itself (one subprocess per worker, each with its
own ``TF_CONFIG``) and checks that all workers finish with identical weights:

    python examples/multiworker.py --workers 2 --out runs/multiworker [--quick]

Each worker writes its final weights to ``OUT/weights_<index>.npz``; the chief (worker 0) also
writes the monitor's TensorBoard logs to ``OUT/logs``.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np


def free_ports(count):
    """``count`` distinct free TCP ports on 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_worker(index, out, quick):
    """One worker: build the model inside the strategy's scope, fit, save its weights."""
    import bnn_init  # noqa: F401  (first: it selects Keras 2 before TensorFlow is imported)

    # isort: split
    import larq as lq
    import tensorflow as tf

    from bnn_init.callbacks import SignalPropagationMonitor
    from bnn_init.datasets import load_digits
    from bnn_init.initializers import CriticalHardTanhNormal
    from bnn_init.quantizers import HardTanh

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    (x, y), _ = load_digits()
    depth, width, r = (6, 31, 0.5) if quick else (20, 255, 0.5)
    with strategy.scope():
        layers = [tf.keras.Input((x.shape[1],))]
        for i in range(depth):
            layers.append(
                lq.layers.QuantDense(
                    10 if i == depth - 1 else width,
                    input_quantizer=HardTanh(r) if i else None,
                    kernel_quantizer=HardTanh(r),
                    kernel_initializer=CriticalHardTanhNormal(r=r, seed=i),
                )
            )
        model = tf.keras.Sequential(layers)
        model.compile(
            tf.keras.optimizers.Adam(3e-4),
            tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    log_dir = str(Path(out) / "logs") if index == 0 else None
    monitor = SignalPropagationMonitor(x[:64], y[:64], log_dir=log_dir)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    model.fit(data.with_options(options), epochs=1 if quick else 5, callbacks=[monitor], verbose=2)
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(Path(out) / f"weights_{index}.npz", **weights)


def launch(workers, out, quick, timeout=600, attempts=3):
    """Start ``workers`` processes with TF_CONFIG on 127.0.0.1; return True if weights agree.
    The ports are free when chosen; should another process take one before a worker binds it,
    the cluster starts again on new ports (up to ``attempts`` times)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        codes, errors = _run_cluster(workers, out, quick, timeout)
        if not any(codes):
            break
        if not any("address already in use" in text.lower() for text in errors):
            raise RuntimeError(f"worker exit codes {codes}:\n" + errors[codes.index(max(codes))])
    else:
        raise RuntimeError(f"no free ports for {workers} workers after {attempts} attempts")
    first = np.load(Path(out) / "weights_0.npz")
    for index in range(1, workers):
        other = np.load(Path(out) / f"weights_{index}.npz")
        if not all(np.array_equal(first[k], other[k]) for k in first.files):
            return False
    return True


def _run_cluster(workers, out, quick, timeout):
    """(exit codes, stderr texts) of one run of the cluster; each worker's stderr also stays in
    ``out/worker_INDEX.log``."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(workers)]}
    processes, logs = [], [Path(out) / f"worker_{index}.log" for index in range(workers)]
    for index in range(workers):
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        )
        env.pop("TF_USE_LEGACY_KERAS", None)
        command = [sys.executable, __file__, "--worker", str(index), "--out", str(out)]
        command += ["--quick"] if quick else []
        with open(logs[index], "w") as log:
            processes.append(subprocess.Popen(command, env=env, stderr=log))
    try:
        codes = [p.wait(timeout=timeout) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    return codes, [log.read_text() for log in logs]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="runs/multiworker")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        train_worker(args.worker, args.out, args.quick)
        return
    same = launch(args.workers, args.out, args.quick)
    print(f"{args.workers} workers finished; identical weights: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
