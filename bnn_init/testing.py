"""Test helpers (as Larq's ``testing_utils``): the models users bring, for tests and benchmarks,
random classification data and a classifier compiled the way the tests train one
(:func:`random_classification`, :func:`compiled_classifier`), and a reader of the monitor's
TensorBoard runs (:func:`read_run`).

:func:`zoo_model` builds a larq-zoo 2.4 architecture as users bring it: random weights
(``weights=None``; pretrained weights would download) and trained-like BatchNorm statistics.
larq-zoo installs beside the tested stack with ``pip install --no-deps larq-zoo==2.4.0
zookeeper`` plus ``click typeguard tensorflow-datasets`` (its pins are older than TF 2.21; its
model code works); ``make test`` does this. Inputs are small to keep tests fast: 32x32x3,
64x64x3 for BinaryAlexNet and DoReFaNet, 224x224x3 for XNORNet (its 6x6 valid convolution needs
it); ``num_classes=10``.

Example:
    >>> model = zoo_model("QuickNetSmall")  # doctest: +SKIP
    >>> model.input_shape  # doctest: +SKIP
    (None, 32, 32, 3)
"""

from __future__ import annotations

import numpy as np

ZOO_MODELS = (
    "QuickNetSmall",
    "QuickNet",
    "QuickNetLarge",
    "BiRealNet",
    "BinaryAlexNet",
    "XNORNet",
    "DoReFaNet",
    "BinaryResNetE18",
    "RealToBinaryNet",
    "BinaryDenseNet28",
    "BinaryDenseNet37",
    "BinaryDenseNet45",
    "MeliusNet22",
)

LARGER_INPUT = {"BinaryAlexNet": 64, "XNORNet": 224, "DoReFaNet": 64}


def zoo_model(name: str, size: int | None = None, seed: int = 0):
    """The larq-zoo model ``name`` with seeded random weights and trained-like BatchNorm."""
    import larq_zoo as lqz
    import tensorflow as tf

    if name not in ZOO_MODELS:
        raise ValueError(f"name={name!r}; allowed: {ZOO_MODELS}")
    tf.keras.backend.clear_session()  # layer names start from the same counters every time
    tf.keras.utils.set_random_seed(seed)
    side = size or LARGER_INPUT.get(name, 32)
    family = lqz.literature if hasattr(lqz.literature, name) else lqz.sota
    model = getattr(family, name)(input_shape=(side, side, 3), weights=None, num_classes=10)
    trained_like_batchnorm(model, seed)
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


def random_classification(n: int, shape, classes: int, seed: int = 0):
    """``(x, y)``: ``n`` standard-normal float32 inputs of ``shape`` (an int or a tuple) and
    uniform integer labels in ``[0, classes)``, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, classes, n)


def compiled_classifier(model, optimizer="adam", metrics=()):
    """``model`` (logits out) compiled with ``optimizer``, sparse softmax cross-entropy and
    ``metrics``; returns it."""
    import tensorflow as tf

    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer, loss=loss, metrics=list(metrics))
    return model


def read_run(path):
    """``(scalars, accumulator)`` of one TensorBoard run folder (e.g. a monitor's
    ``log_dir/measured``), read with TensorBoard's own reader: ``scalars`` maps every scalar tag
    to {step: value}; ``accumulator`` is the loaded ``EventAccumulator`` (images, text)."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(
        str(path), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    scalars = {}
    for tag in accumulator.Tags()["tensors"]:
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        scalars[tag] = {
            event.step: float(tensor_util.make_ndarray(event.tensor_proto))
            for event in accumulator.Tensors(tag)
        }
    return scalars, accumulator
