"""Parity of a flatbuffer with its Keras model, run in the LCE interpreter.

max_abs_diff = max |y_tflite - y_keras| over samples and outputs. Argmax agreement counts a sample
as agreeing when the interpreter's top class scores, in Keras, within ``atol`` of the Keras maximum
(binary networks produce integer-valued pre-activations, so exact ties are common and either
class is correct).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

DEFAULT_SAMPLES = 256


def sample_inputs(model: tf.keras.Model, n: int = DEFAULT_SAMPLES, seed: int = 0) -> np.ndarray:
    """``n`` standard-normal inputs of the model's (static) input shape."""
    shape = model.input_shape[1:]
    if any(d is None for d in shape):
        raise ValueError(f"model input shape {model.input_shape}: export needs static shapes")
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def run_flatbuffer(flatbuffer: bytes, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Outputs of the flatbuffer on ``x`` (batch axis first) in the LCE interpreter."""
    return np.asarray(Interpreter(flatbuffer, num_threads=num_threads).predict(x))


def parity(flatbuffer: bytes, keras_model, x: np.ndarray, atol: float, reference: str) -> dict:
    """Compare flatbuffer and Keras outputs on ``x``; returns the figures for the report."""
    got = run_flatbuffer(flatbuffer, x).reshape(len(x), -1)
    want = np.asarray(keras_model.predict(x, batch_size=64, verbose=0)).reshape(len(x), -1)
    top = got.argmax(axis=1)
    agree = want[np.arange(len(x)), top] >= want.max(axis=1) - atol
    return {
        "reference": reference,
        "samples": int(len(x)),
        "max_abs_diff": float(np.max(np.abs(got - want))),
        "argmax_agreement": float(np.mean(agree)),
        "atol": float(atol),
    }


class ExportVerificationError(RuntimeError):
    """The flatbuffer disagrees with the Keras model beyond tolerance; nothing was written."""


def check(figures: dict, min_agreement: float) -> None:
    """Raise :class:`ExportVerificationError` when the parity figures miss the tolerances."""
    if figures["max_abs_diff"] > figures["atol"] or figures["argmax_agreement"] < min_agreement:
        raise ExportVerificationError(
            f"flatbuffer disagrees with the Keras model ({figures['reference']}) on "
            f"{figures['samples']} inputs: max |diff| = {figures['max_abs_diff']:.4g} "
            f"(atol {figures['atol']:.4g}), argmax agreement "
            f"{100 * figures['argmax_agreement']:.1f} % (need {100 * min_agreement:.1f} %); "
            "no file was written"
        )
