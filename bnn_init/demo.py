"""The main job, end to end: ``bnn-init demo`` (``make demo``).

1. The theory picks the initialisation of a deep hard-tanh BNN (Wang (2018): B_r on weights and
   activations, no BatchNorm) and says, before training, that Keras' default ``glorot_uniform``
   puts the same network in the chaotic phase (chi_1 > 1, xi_c of a few layers).
2. Both train on offline real data with `SignalPropagationMonitor` writing TensorBoard logs.
3. The better one is binarised (sign weights and activations, Wang's case 1, fine-tuned for a few
   epochs) and exported with `export_lce`, verified in the LCE interpreter, and compared with the
   float model of the same architecture in size and latency.
4. Figures, logs, the binarised Keras model (``bnn.keras``, ready for ``bnn-init export``) and
   256 test inputs (``inputs.npy``, representative data for ``--int8``) go under ``runs/demo``.
   Every number printed comes from the run.

Training uses Adam with a cosine-decayed learning rate: at a constant 3e-4 the critical network's
accuracy swung by up to 10 points between epochs in the second half (test 0.918 at epoch 4,
0.811 at epoch 6); decayed, test accuracy rises to its best at the last epoch (0.942, one run of
each on digits at the default size). The monitor probes pairs of inputs with correlation about
0.9 (each probe example beside a perturbed copy), so the c^l panels show correlations decaying
through depth as the theory predicts, not the fixed point c* = 0 of unrelated inputs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bnn_init.cli_support import add_out_option, add_size_option, announce, output_folder
from bnn_init.experiments.data import DATASETS
from bnn_init.primitives import pick_size

COMMAND = "demo"


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo; `SIZES` holds the named ones ("quick" is the one the tests run)."""

    depth: int = 20
    width: int = 256
    r: float = 0.5
    sigma_b2: float = 0.0
    epochs: int = 8
    finetune_epochs: int = 4
    learning_rate: float = 3e-4  # the peak of a cosine decay over the training run
    probe_correlation: float = 0.9  # of each probe input with its perturbed partner
    batch_size: int = 64
    probe_size: int = 128
    latency_runs: int = 50
    seed: int = 0


SIZES = {
    "quick": asdict(DemoConfig(width=64, epochs=2, finetune_epochs=1, latency_runs=10)),
    "default": asdict(DemoConfig()),
}


def sign_twin(model):
    """The deterministic binary network with the weights of a trained hard-tanh network.

    HardTanh quantizers become ``ste_sign`` (Wang's case 1), and each binary layer is followed by
    a fixed ``Rescaling(1 / sqrt(fan_in))`` so that pre-activations keep the unit scale of the
    mean-field normalisation (h = (1/sqrt(N)) sum_j W_ij x_j). Before a sign the rescaling changes
    nothing in the forward pass (the exporter folds it away); it keeps the straight-through
    gradient window |h| <= 1 open during fine-tuning.
    """
    import larq as lq
    import tensorflow as tf

    layers = [tf.keras.Input(model.input_shape[1:])]
    for i, layer in enumerate(model.layers):
        fan_in = int(layer.kernel.shape[0])
        layers.append(
            lq.layers.QuantDense(
                layer.units,
                input_quantizer="ste_sign" if i else None,
                kernel_quantizer="ste_sign",
                kernel_constraint="weight_clip",
                name=layer.name,
            )
        )
        layers.append(tf.keras.layers.Rescaling(1.0 / np.sqrt(fan_in), name=f"scale_{i + 1:02d}"))
    twin = tf.keras.Sequential(layers, name="binary_bnn")
    twin.set_weights(model.get_weights())
    return twin


def float_twin(model):
    """The float MLP of the same architecture (tanh activations), the latency/size baseline."""
    import tensorflow as tf

    layers = [tf.keras.Input(model.input_shape[1:])]
    for i, layer in enumerate(model.layers):
        last = i == len(model.layers) - 1
        layers.append(tf.keras.layers.Dense(layer.units, activation=None if last else "tanh"))
    return tf.keras.Sequential(layers, name="float_mlp")


def _compile(model, learning_rate, decay_steps=None):
    """Adam with the learning rate decayed by a cosine over ``decay_steps`` updates (None:
    constant)."""
    import tensorflow as tf

    if decay_steps is not None:
        learning_rate = tf.keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)
    model.compile(
        tf.keras.optimizers.Adam(learning_rate),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def correlated_probe(x, correlation: float, seed: int = 0):
    """The examples ``x`` followed by perturbed copies x' = x + s |x|_rms noise, with s chosen so
    that the uncentred correlation <x, x'> / (|x| |x'|) is ``correlation`` on average (the monitor
    pairs the first half of its probe with the second half)."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(np.mean(x**2, axis=1, keepdims=True))
    s = np.sqrt(1.0 / correlation**2 - 1.0)
    partner = x + s * scale * rng.standard_normal(x.shape)
    return np.concatenate([x, partner]).astype(np.float32)


def _accuracy(logits, y) -> float:
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def run(config: DemoConfig, out: Path, dataset: str = "digits", data_path=None) -> dict:
    """Run the demo; return the numbers it printed (for tests and scripts). ``out`` is a
    directory, created when missing; ValueError when it is an existing file."""
    import tensorflow as tf

    from bnn_init import nets
    from bnn_init.callbacks import SignalPropagationMonitor
    from bnn_init.callbacks.prediction import verdict
    from bnn_init.experiments.data import load_dataset
    from bnn_init.export import export_lce, export_tflite, measure_latency
    from bnn_init.export.verify import run_flatbuffer

    out = output_folder(out)
    (x_train, y_train), (x_test, y_test) = load_dataset(dataset, data_path)
    classes = int(max(y_train.max(), y_test.max())) + 1
    half = config.probe_size // 2
    probe_x = correlated_probe(x_train[:half], config.probe_correlation, seed=config.seed)
    probe_y = np.concatenate([y_train[:half], y_train[:half]])
    steps = int(np.ceil(len(x_train) / config.batch_size))
    kernels = {"critical": "normal", "glorot_uniform": "glorot_uniform"}  # sigma_w2: critical

    print(
        f"1. Theory (before training): hard-tanh BNN, r = {config.r:g}, depth {config.depth}, "
        f"width {config.width}, no BatchNorm"
    )
    models, theories = {}, {}
    for name, kernel in kernels.items():
        tf.keras.utils.set_random_seed(config.seed)
        net = nets.hard_tanh_mlp(
            config.depth,
            config.width,
            x_train.shape[1],
            classes,
            r=config.r,
            sigma_b2=config.sigma_b2,
            kernel=kernel,
            seed=config.seed,
        )
        models[name], theories[name] = net.model, net.theory
        print(f"  {name}: {verdict(theories[name], config.depth)}")

    print(f"\n2. Training on {dataset} ({len(x_train)} train / {len(x_test)} test examples)")
    histories, initial = {}, {}
    for name, model in models.items():
        _compile(model, config.learning_rate, config.epochs * steps)
        before = SignalPropagationMonitor(probe_x, probe_y)
        before.set_model(model)
        before.measure(step=0)
        initial[name] = before.latest
        monitor = SignalPropagationMonitor(probe_x, probe_y, log_dir=str(out / name))
        print(f"  {name}:")
        histories[name] = model.fit(
            x_train,
            y_train,
            epochs=config.epochs,
            batch_size=config.batch_size,
            validation_data=(x_test, y_test),
            callbacks=[monitor],
            verbose=2,
        ).history
    accuracy = {n: _accuracy(m.predict(x_test, verbose=0), y_test) for n, m in models.items()}
    best = max(accuracy, key=accuracy.get)

    print(f"\n3. Binarising '{best}' (sign weights and activations) and exporting")
    binary = sign_twin(models[best])
    _compile(binary, config.learning_rate)  # fine-tuning is short and still climbs at its end
    binary.fit(
        x_train, y_train, epochs=config.finetune_epochs, batch_size=config.batch_size, verbose=2
    )
    binary_accuracy = _accuracy(binary.predict(x_test, verbose=0), y_test)
    samples = x_test[:256].astype(np.float32)  # verification inputs, and --int8's data
    binary.save(out / "bnn.keras")
    np.save(out / "inputs.npy", samples)
    report = export_lce(binary, out / "bnn.tflite", overwrite=True, sample_inputs=samples)
    exported_accuracy = _accuracy(
        run_flatbuffer((out / "bnn.tflite").read_bytes(), x_test.astype(np.float32)), y_test
    )
    baseline = export_tflite(float_twin(models[best]), out / "float.tflite", overwrite=True)
    sample = x_test[:1].astype(np.float32)
    latency = {
        "bnn": measure_latency(out / "bnn.tflite", sample, runs=config.latency_runs),
        "float": measure_latency(out / "float.tflite", sample, runs=config.latency_runs),
    }
    results = dict(
        accuracy=accuracy,
        best=best,
        binary_accuracy=binary_accuracy,
        exported_accuracy=exported_accuracy,
        bnn_bytes=report.file_bytes,
        float_bytes=baseline.file_bytes,
        latency=latency,
        op_counts=report.op_counts,
        histories=histories,
    )
    _print_table(results)

    figures = _figures(config, out, theories, initial, histories)
    print("\n4. Files")
    files = ["bnn.tflite", "float.tflite", "bnn.keras", "inputs.npy", *kernels]
    announce([*figures, *(out / name for name in files)])
    print(f"\nOpen the live plots with:  tensorboard --logdir {out.resolve()}")
    return results


def _print_table(results):
    acc = results["accuracy"]
    rows = [
        ("test accuracy, critical init (Keras)", f"{acc['critical']:.3f}"),
        ("test accuracy, glorot_uniform (Keras)", f"{acc['glorot_uniform']:.3f}"),
        (
            "critical init: best epoch's test accuracy",
            _best_epoch(results["histories"]["critical"]),
        ),
        (
            f"test accuracy, binarised {results['best']} (Keras)",
            f"{results['binary_accuracy']:.3f}",
        ),
        ("test accuracy, exported (LCE interpreter)", f"{results['exported_accuracy']:.3f}"),
        (
            "file size: BNN / float",
            f"{results['bnn_bytes'] / 1e3:.1f} kB / "
            f"{results['float_bytes'] / 1e3:.1f} kB ({results['float_bytes'] / results['bnn_bytes']:.1f}x smaller)",
        ),
        (
            "latency, 1 thread: BNN / float",
            f"{1e3 * results['latency']['bnn']:.3f} ms / "
            f"{1e3 * results['latency']['float']:.3f} ms "
            f"({results['latency']['float'] / results['latency']['bnn']:.1f}x faster)",
        ),
        ("LCE ops", ", ".join(f"{k} x{v}" for k, v in sorted(results["op_counts"].items()))),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def _best_epoch(history) -> str:
    test = history["val_accuracy"]
    best = int(np.argmax(test))
    return f"{test[best]:.3f} (epoch {best + 1} of {len(test)}; last {test[-1]:.3f})"


def _figures(config, out, theories, initial, histories):
    from bnn_init import plotting, theory
    from bnn_init.callbacks.figure import profile_figure

    paths = []
    points = {n: (t.sigma_w2, t.sigma_b2) for n, t in theories.items()}
    widest = max(5.0 * config.r**2, *(1.15 * w for w, _ in points.values()))  # every mark inside
    axes = {
        "sigma_w2": np.linspace(0.02 * config.r**2, widest, 80),
        "sigma_b2": np.linspace(0.0, 0.3, 40),
    }
    diagram = theory.phase_diagram(theory.HardTanhBNN, r=config.r, **axes)
    figure = plotting.phase_diagram_figure(
        diagram, x="sigma_w2", y="sigma_b2", point=points, title=f"HardTanhBNN, r = {config.r:g}"
    )
    paths.append(_save(figure, out / "phase_diagram.png"))
    for name, latest in initial.items():
        prediction = latest.get("prediction")
        figure = profile_figure(
            latest["measured"],
            None if prediction is None else vars(prediction),
            title=f"{name} at initialisation: measured (points) vs theory; probe pairs with "
            f"input correlation {config.probe_correlation:g}",
        )
        paths.append(_save(figure, out / f"signal_{name}.png"))
    paths.append(_save(plotting.training_curves_figure(histories), out / "training_curves.png"))
    return paths


def _save(figure, path):
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def add_parser(subparsers):
    """Register ``bnn-init demo``."""
    parser = subparsers.add_parser(
        COMMAND, help="the whole story: theory, training, monitor, export"
    )
    add_out_option(parser, "runs/demo")
    add_size_option(parser, SIZES)
    parser.add_argument("--dataset", choices=DATASETS, default="digits")
    parser.add_argument("--data-path", default=None, help="folder with local MNIST files")
    parser.set_defaults(func=_run_from_args)
    return parser


def _run_from_args(args) -> int:
    config = DemoConfig(**pick_size(SIZES, args.size))
    start = time.perf_counter()
    run(config, args.out, dataset=args.dataset, data_path=args.data_path)
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    return 0
