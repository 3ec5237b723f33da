"""Train a deep hard-tanh BNN initialised at the edge of chaos on scikit-learn's digits (offline).

Every QuantDense layer sees its weights and inputs through Wang's B_r(x) = clip(x / r, -1, 1)
(`bnn_init.quantizers.HardTanh`), and draws its kernel from `CriticalHardTanhNormal`, which solves
sigma_w2 at chi_1 = 1 with `bnn_init.theory.HardTanhBNN` (Wang (2018), sec. 3); `bnn_init.nets`
builds the network and its theory from one set of arguments.

    python examples/critical_init.py            # depth 20, 30 epochs: test accuracy ~0.98
    python examples/critical_init.py --quick    # depth 10, 3 epochs, a few seconds
"""

import argparse

import bnn_init  # noqa: F401  (first: it selects Keras 2 before TensorFlow is imported)

# isort: split
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from bnn_init import nets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shallow and short, for smoke tests")
    parser.add_argument("--r", type=float, default=1.0, help="hard-tanh half-width r")
    parser.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate")
    parser.add_argument("--sigma-b2", type=float, default=0.0, help="bias variance sigma_b2")
    args = parser.parse_args(argv)
    depth, epochs = (10, 3) if args.quick else (20, 30)

    tf.keras.utils.set_random_seed(0)
    digits = load_digits()
    x = (digits.data / 16.0 - 0.5).astype("float32") * 2.0  # pixels in [-1, 1]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )

    # a depth-layer hard-tanh BNN on 64 inputs with 10 logits, critically initialised
    net = nets.hard_tanh_mlp(
        depth, 256, 64, 10, r=args.r, sigma_b2=args.sigma_b2, weight_clip=True, seed=1
    )
    print(
        f"critical sigma_w2 = {net.theory.sigma_w2:.4f} at r = {args.r}, sigma_b2 = {args.sigma_b2}"
    )
    model = net.model
    model.compile(
        optimizer=tf.keras.optimizers.Adam(args.lr),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"depth {depth}: test accuracy {accuracy:.3f} (chance 0.1)")
    return accuracy


if __name__ == "__main__":
    main()
