"""Train a deterministic surrogate of a stochastic binary network, then binarise and export it.

Stamatescu et al. (2019): the surrogate's kernels are the means M in [-1, 1] of +-1 weights,
initialised near +-1 (`BinaryMeans(0.99)`, sec. 3 and Fig. 2) with phi(h) = erf(kappa h)
(eq. 12). After training on scikit-learn's digits (offline) the script compares the surrogate with
its binary counterparts (Stamatescu et al. 2019, Fig. 2 bottom): the deterministic binary network W = sign(M) with
sign neurons (`to_binary`, a Larq model), single stochastic networks and ensembles of 5 and 100
(`ensemble_accuracy`), and exports the binary network as a bitpacked Larq Compute Engine
flatbuffer.

    python examples/surrogate_to_binary.py            # depth 8, 40 epochs (about a minute)
    python examples/surrogate_to_binary.py --quick    # depth 4, 3 epochs, a few seconds
"""

import argparse
import math
import tempfile
from pathlib import Path

import bnn_init  # noqa: F401  (first: it selects Keras 2 before TensorFlow is imported)

# isort: split
import numpy as np
import tensorflow as tf

from bnn_init.datasets import load_digits
from bnn_init.initializers import BinaryMeans
from bnn_init.layers import DeterministicSurrogateDense, ensemble_accuracy, to_binary
from bnn_init.theory import describe

KAPPA = math.sqrt(math.pi) / 2  # the tanh-matched neuron: chi_1 -> 1 as sigma_m2 -> 1 (erratum 7)


def build_model(depth, width, sigma_m2, seed):
    """``depth`` surrogate layers on 64 inputs: real inputs first, 10 logits last."""
    layers = [tf.keras.Input((64,))]
    for index in range(depth):
        last = index == depth - 1
        layers.append(
            DeterministicSurrogateDense(
                10 if last else width,
                kappa=KAPPA,
                kernel_initializer=BinaryMeans(sigma_m2, seed=seed + index),
                input_kind="real" if index == 0 else "means",
                return_field=last,
            )
        )
    return tf.keras.Sequential(layers)


def accuracy(model, x, y):
    return float(np.mean(np.argmax(model(x, training=False), axis=1) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="depth 4, 3 epochs")
    parser.add_argument("--sigma-m2", type=float, default=0.99, help="variance of the means")
    args = parser.parse_args(argv)
    depth, epochs = (4, 3) if args.quick else (8, 40)
    tf.random.set_seed(0)

    (x, y), (x_test, y_test) = load_digits(seed=0)
    model = build_model(depth, 128, args.sigma_m2, seed=0)
    theory = describe(model).theory
    print(f"theory: {theory!r}: chi_1 = {theory.chi1:.3f}, xi_c = {theory.xi_c:.3g}")
    model.compile(
        tf.keras.optimizers.Adam(3e-3),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    initial = [np.sign(layer.means.numpy()) for layer in model.layers]
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)

    binary = to_binary(model)
    flipped = np.mean(
        [
            np.mean(np.sign(layer.means.numpy()) != s)
            for layer, s in zip(model.layers, initial, strict=True)
        ]
    )
    print(f"depth {depth}, {epochs} epochs: {flipped:.1%} of the binary weights sign(M) changed")
    print(f"  surrogate                    test accuracy {accuracy(model, x_test, y_test):.3f}")
    print(f"  deterministic binary (Larq)  test accuracy {accuracy(binary, x_test, y_test):.3f}")
    for samples in (1, 5, 100):
        acc = ensemble_accuracy(model, x_test, y_test, samples=samples, seed=1)
        print(f"  {samples:3d} stochastic network(s)     test accuracy {acc:.3f}")

    try:
        from bnn_init.export import export_lce
    except ImportError as error:  # larq-compute-engine missing
        print(f"export skipped: {error}")
        return
    with tempfile.TemporaryDirectory() as folder:
        report = export_lce(binary, Path(folder) / "surrogate.tflite", sample_inputs=x_test[:64])
    print(
        f"exported: {report.op_counts.get('LceBconv2d', 0)} bitpacked binary layers, "
        f"{report.file_bytes} bytes"
    )


if __name__ == "__main__":
    main()
