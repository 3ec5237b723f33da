"""larq-zoo 2.4 architectures as users bring them: ``weights=None``, trained-like BatchNorm.

larq-zoo installs beside the tested stack with ``pip install --no-deps larq-zoo==2.4.0
zookeeper`` (its pins are older than TF 2.21; its model code works), which ``make test`` does.
Inputs are small (32x32x3; 64x64x3 where an architecture's pooling needs it) to keep the suite
fast; ``num_classes=10``.
"""

from __future__ import annotations

import larq_zoo as lqz
import numpy as np

LARGER_INPUT = {"BinaryAlexNet": 64, "XNORNet": 64, "DoReFaNet": 64}


def build(name: str, size: int | None = None):
    """The larq-zoo model ``name`` with random weights and trained-like BatchNorm statistics."""
    import tensorflow as tf

    tf.keras.backend.clear_session()
    side = size or LARGER_INPUT.get(name, 32)
    family = lqz.literature if hasattr(lqz.literature, name) else lqz.sota
    model = getattr(family, name)(input_shape=(side, side, 3), weights=None, num_classes=10)
    trained_like_batchnorm(model)
    return model


def trained_like_batchnorm(model, seed: int = 0) -> None:
    """gamma ~ U(0.5, 1.5), beta ~ N(0, 0.3^2), moving mean ~ N(0, 0.3^2), var ~ U(0.5, 2)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    draws = {
        "gamma": lambda n: rng.uniform(0.5, 1.5, n),
        "beta": lambda n: rng.normal(0.0, 0.3, n),
        "moving_mean": lambda n: rng.normal(0.0, 0.3, n),
        "moving_variance": lambda n: rng.uniform(0.5, 2.0, n),
    }
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            values = []
            for weight in layer.weights:
                kind = next(k for k in draws if weight.name.split("/")[-1].startswith(k))
                values.append(draws[kind](weight.shape[0]).astype(np.float32))
            layer.set_weights(values)
