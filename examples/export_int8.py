"""Train a binary MLP on scikit-learn's digits (offline) and export it to a bitpacked int8 LCE model.

The first layer sees real pixels through a +-1 kernel; the hidden and output layers are fully
binary (sign activations, sign weights, Courbariaux et al.'s BNN with Larq's ``ste_sign``).
``export_lce(..., int8=True)`` bitpacks the binary layers and turns the float first layer into
int8, calibrated on ``representative_data``; the exporter checks the flatbuffer against the Keras
model in the LCE interpreter before writing it.

    python examples/export_int8.py                 # width 256, 20 epochs: test accuracy ~0.94
    python examples/export_int8.py --quick         # width 64, 2 epochs, a few seconds
    python examples/export_int8.py --out net.tflite --overwrite
"""

import argparse
import tempfile
from pathlib import Path

import bnn_init  # noqa: F401  (first: it selects Keras 2 before TensorFlow is imported)

# isort: split
import larq as lq
import numpy as np
import tensorflow as tf

from bnn_init.datasets import load_digits
from bnn_init.export import export_lce, measure_latency
from bnn_init.export.verify import run_flatbuffer

BINARY = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    use_bias=False,
)


def build_model(width: int) -> tf.keras.Model:
    """64 -> width (float input, +-1 kernel) -> width -> 10, BatchNorm after each layer."""
    return tf.keras.Sequential(
        [
            tf.keras.Input((64,)),
            lq.layers.QuantDense(
                width,
                kernel_quantizer="ste_sign",
                kernel_constraint="weight_clip",
                use_bias=False,
            ),
            tf.keras.layers.BatchNormalization(),
            lq.layers.QuantDense(width, **BINARY),
            tf.keras.layers.BatchNormalization(),
            lq.layers.QuantDense(10, **BINARY),
            tf.keras.layers.BatchNormalization(),
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="narrow and short, for smoke tests")
    parser.add_argument("--out", help="output .tflite path (default: a temporary directory)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    width, epochs = (64, 2) if args.quick else (256, 20)

    tf.keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits()
    model = build_model(width)
    model.compile(
        tf.keras.optimizers.Adam(1e-2),
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    keras_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "digits_bnn_int8.tflite"
        report = export_lce(
            model,
            out,
            int8=True,
            representative_data=x_train[:256],
            sample_inputs=x_test,
            overwrite=args.overwrite,
        )
        flatbuffer = out.read_bytes()
    print(report.summary())
    scores = run_flatbuffer(flatbuffer, x_test)
    lce_accuracy = float(np.mean(np.argmax(scores, axis=1) == y_test))
    latency = measure_latency(flatbuffer, x_test[:32], runs=200)
    print(f"test accuracy: Keras {keras_accuracy:.3f}, int8 LCE flatbuffer {lce_accuracy:.3f}")
    print(
        f"size: {report.file_bytes} B (binary weights {report.binary_bytes} B); "
        f"latency {1e6 * latency:.1f} us (LCE interpreter, 1 thread)"
    )
    return report, keras_accuracy, lce_accuracy


if __name__ == "__main__":
    main()
