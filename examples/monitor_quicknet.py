"""Watch signal propagation in a small QuickNet-style convolutional BNN in TensorBoard.

The network follows Larq's QuickNet pattern (Bannink et al. 2021) at toy size for scikit-learn's
8 x 8 digits (offline): a real-valued stem convolution, then residual blocks of
``QuantConv2D(ste_sign inputs, ste_sign weights) -> BatchNorm`` added to a shortcut, global pooling
and a real-valued classifier. `SignalPropagationMonitor` follows every layer with a single kernel
in topological order (the residual ``Add`` and BatchNorm have none); `bnn_init.theory.describe`
reads ``ste_sign`` and picks `SignNet`, a random sign network that is chaotic for every bias
variance (Stamatescu et al. (2019), App. F): the verdict line says so.

    python examples/monitor_quicknet.py --out runs/quicknet      # 10 epochs
    python examples/monitor_quicknet.py --quick                  # 1 epoch, a few seconds
    tensorboard --logdir runs/quicknet
"""

import argparse

import bnn_init  # noqa: F401  (first: it selects Keras 2 before TensorFlow is imported)

# isort: split
import larq as lq
import tensorflow as tf

from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.datasets import load_digits

BINARY = dict(
    input_quantizer="ste_sign",
    kernel_quantizer="ste_sign",
    kernel_constraint="weight_clip",
    padding="same",
    use_bias=False,
)


def build_model(blocks=4, filters=32):
    """A QuickNet-style BNN for 8 x 8 x 1 images: stem, ``blocks`` residual binary blocks."""
    inputs = tf.keras.Input((8, 8, 1))
    x = tf.keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = tf.keras.layers.BatchNormalization(momentum=0.9)(x)
    for index in range(blocks):
        y = lq.layers.QuantConv2D(filters, 3, name=f"binary_conv_{index + 1}", **BINARY)(x)
        y = tf.keras.layers.BatchNormalization(momentum=0.9)(y)
        x = tf.keras.layers.Add()([x, y])
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(10, name="classifier")(x)
    model = tf.keras.Model(inputs, outputs, name="quicknet_digits")
    model.compile(
        tf.keras.optimizers.Adam(1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/quicknet", help="TensorBoard log directory")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 512 images")
    args = parser.parse_args(argv)
    (x_train, y_train), (x_test, y_test) = load_digits(seed=0)
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    epochs = 1 if args.quick else args.epochs
    if args.quick:
        x_train, y_train = x_train[:512], y_train[:512]
    tf.keras.utils.set_random_seed(0)
    model = build_model()
    monitor = SignalPropagationMonitor(x_test[:128], y_test[:128], log_dir=args.out)
    history = model.fit(
        x_train, y_train, batch_size=64, epochs=epochs, callbacks=[monitor], verbose=2
    )
    measured = monitor.latest["measured"]
    for index, layer in enumerate(monitor.monitored_layers):
        print(
            f"  layer {index + 1:02d} {layer.name:<16} q = {measured['q'][index]:<10.4g} "
            f"c = {measured['c'][index]:<8.3f} E[delta^2] = {measured['grad_var'][index]:.3g}"
        )
    print(f"final accuracy {history.history['accuracy'][-1]:.3f}; tensorboard --logdir {args.out}")


if __name__ == "__main__":
    main()
