"""Stage 5 of the export: does the flatbuffer compute the Keras model? If not, where do they part?

Parity (:func:`parity`): max_abs_diff = max |y_tflite - y_keras| over samples and outputs, and
argmax agreement, where a sample agrees when the interpreter's top class scores, in Keras, within
``atol`` of the Keras maximum (binary networks produce integer-valued pre-activations, so exact
ties are common and either class is correct).

Diagnosis (:func:`first_divergence`): when they disagree, the model is cut after a layer,
``tf.keras.Model(model.inputs, layer.output)``, the prefix is converted the same way and run on
the same inputs; a binary search over the layers in topological order finds the first layer whose
output differs beyond tolerance. For that layer it reports the max difference, the fraction of
values that differ, and, when the layer binarises its input, how many inputs lie so close to the
threshold 0 (|x| <= 1e-5 max |x|) that float rounding order decides their sign. When every
differing value lies within reach of a near-tie input (no more than near ties x kernel size x
filters values differ) the cause is float rounding amplified by sign; otherwise it is a
conversion error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from larq_compute_engine.tflite.python.interpreter import Interpreter

from bnn_init.quantizer_kinds import is_binary_input

FLOAT_RTOL = 1e-3  # LCE's end-to-end tests: rtol = atol = 1e-3
INT8_MIN_AGREEMENT = 0.9
SMALL_INPUT = 4096  # values per example up to which 256 samples are cheap to verify
NEAR_TIE_RTOL = 1e-5


def sample_inputs(model: tf.keras.Model, n: int | None = None, seed: int = 0) -> np.ndarray:
    """``n`` standard-normal inputs of the model's (static) input shape.

    The default is 256 for inputs of up to 4096 values and 32 for images.
    """
    shape = model.input_shape[1:]
    if any(d is None for d in shape):
        raise ValueError(f"model input shape {model.input_shape}: export needs static shapes")
    if n is None:
        n = 256 if np.prod(shape) <= SMALL_INPUT else 32
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def run_flatbuffer(flatbuffer: bytes, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
    """Outputs of the flatbuffer on ``x`` (batch axis first) in the LCE interpreter."""
    return np.asarray(Interpreter(flatbuffer, num_threads=num_threads).predict(x))


def near_tie_mask(values: np.ndarray) -> np.ndarray:
    """Per sample (rows) and value: 0 < |x| <= 1e-5 max |x| over that sample's tensor."""
    a = np.abs(values).reshape(len(values), -1)
    return (a > 0) & (a <= NEAR_TIE_RTOL * a.max(axis=1, keepdims=True))


def near_tie_samples(model: tf.keras.Model, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Per sample: does some binarised input lie within float rounding of its threshold?

    A value x feeding a sign-like quantizer is a near tie when 0 < |x| <= 1e-5 max |x| (the
    max over that tensor for that sample): float results of Keras and TFLite differ by about
    1e-6 of the tensor's scale (different operation order, fused BatchNorm), enough to flip such
    a sign, and one flipped sign changes everything downstream in a binary network. Exact zeros
    are not near ties: both sides binarise them to +1.
    """
    tensors = [
        layer.input
        for layer in model.layers
        if is_binary_input(getattr(layer, "input_quantizer", None)) and _single_input(layer)
    ]
    flags = np.zeros(len(x), dtype=bool)
    if not tensors:
        return flags
    probe = tf.keras.Model(model.inputs, tensors)
    for start in range(0, len(x), batch_size):
        values = probe(x[start : start + batch_size], training=False)
        for v in values if isinstance(values, list | tuple) else [values]:
            flags[start : start + batch_size] |= near_tie_mask(np.asarray(v)).any(axis=1)
    return flags


def parity(got: np.ndarray, want: np.ndarray, atol: float, reference: str) -> dict:
    """Compare flatbuffer outputs ``got`` with Keras outputs ``want``; figures for the report.

    ``per_sample_agreement`` (not reported) holds, per sample, whether it is within ``atol`` and
    its top class agrees.
    """
    n = len(want)
    got, want = np.asarray(got).reshape(n, -1), np.asarray(want).reshape(n, -1)
    top = got.argmax(axis=1)
    agree = want[np.arange(n), top] >= want.max(axis=1) - atol
    diff = np.abs(got - want).max(axis=1)
    return {
        "reference": reference,
        "samples": int(n),
        "max_abs_diff": float(diff.max()),
        "argmax_agreement": float(agree.mean()),
        "atol": float(atol),
        "per_sample_agreement": agree & (diff <= atol),
        "per_sample_diff": diff,
        "per_sample_top": agree,
    }


def excuse_near_tie_flips(figures: dict, flips: np.ndarray, divergence: Divergence) -> dict:
    """Figures over the samples without a near-tie sign flip; the flips reported on their own."""
    keep = ~flips
    diff, top = figures["per_sample_diff"], figures["per_sample_top"]
    return dict(
        figures,
        samples=int(keep.sum()),
        max_abs_diff=float(diff[keep].max()),
        argmax_agreement=float(top[keep].mean()),
        near_tie_flips=int(flips.sum()),
        near_tie_max_abs_diff=float(diff[flips].max()),
        near_tie_argmax_agreement=float(top[flips].mean()),
        near_tie_divergence=str(divergence),
    )


def passes(figures: dict, min_agreement: float) -> bool:
    """Whether the parity figures meet the tolerances."""
    return (
        figures["max_abs_diff"] <= figures["atol"] and figures["argmax_agreement"] >= min_agreement
    )


class ExportVerificationError(RuntimeError):
    """The flatbuffer disagrees with the Keras model beyond tolerance; nothing was written."""


def failure_message(figures: dict, min_agreement: float, divergence: Divergence | None) -> str:
    """One paragraph: the parity figures, then where the flatbuffer and Keras part."""
    message = (
        f"flatbuffer disagrees with the Keras model ({figures['reference']}) on "
        f"{figures['samples']} inputs: max |diff| = {figures['max_abs_diff']:.4g} "
        f"(atol {figures['atol']:.4g}), argmax agreement "
        f"{100 * figures['argmax_agreement']:.1f} % (need {100 * min_agreement:.1f} %)"
    )
    if divergence is not None:
        message += f"; {divergence}"
    return message + "; no file was written"


@dataclass
class Divergence:
    """The first layer whose converted output differs from Keras beyond tolerance."""

    layer: str
    kind: str
    max_abs_diff: float
    differing_fraction: float
    differing_values: int
    near_ties: int | None  # binarised inputs within NEAR_TIE_RTOL of 0; None if no binarisation
    fan_out: int  # outputs one input value reaches (kernel height x width x filters)
    source: str | None = None  # the upstream binarising layer whose near ties are counted

    @property
    def near_tie_rounding(self) -> bool:
        """Every differing value can be reached from a flipped near-tie input of the layer."""
        return bool(self.near_ties) and self.differing_values <= self.near_ties * self.fan_out

    @property
    def cause(self) -> str:
        if self.near_tie_rounding:
            return "float rounding at near-tie binarisation inputs (not a conversion error)"
        return "a conversion error in this layer"

    def __str__(self) -> str:
        at = "" if self.source is None else f" of upstream layer {self.source!r}"
        ties = "" if self.near_ties is None else f", {self.near_ties} near-tie binarised inputs{at}"
        return (
            f"they part at layer {self.layer!r} ({self.kind}): max |diff| {self.max_abs_diff:.4g} "
            f"on {100 * self.differing_fraction:.3g} % of its values{ties}; likely cause: "
            f"{self.cause}"
        )


def _prefix_error(model, layer, x, convert: Callable, atol: float) -> tuple[float, float, int]:
    prefix = tf.keras.Model(model.inputs, layer.output)
    want = prefix.predict(x, batch_size=64, verbose=0)
    got = run_flatbuffer(convert(prefix), x).reshape(want.shape)
    diff = np.abs(got - want)
    differs = diff > atol * max(1.0, float(np.max(np.abs(want))))
    return float(diff.max()), float(np.mean(differs)), int(differs.sum())


def binarising_source(layer, hops: int = 4):
    """``layer`` if it binarises its input, else the nearest such layer upstream (or None).

    A layer without binarisation (a concatenation, a BatchNorm) differs only because something
    upstream did; near ties are counted at the binarised input that feeds it.
    """
    frontier = [layer]
    for _ in range(hops + 1):
        for candidate in frontier:
            if is_binary_input(getattr(candidate, "input_quantizer", None)):
                return candidate
        frontier = [
            inbound
            for candidate in frontier
            for node in candidate.inbound_nodes
            for inbound in tf.nest.flatten(node.inbound_layers)
        ]
    return None


def _fan_out(layer) -> int:
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return 1
    shape = kernel.shape
    return int(np.prod(shape[:-2])) * int(shape[-1]) if len(shape) == 4 else int(shape[-1])


def _near_ties(model, layer, x) -> int | None:
    if not is_binary_input(getattr(layer, "input_quantizer", None)):
        return None
    values = tf.keras.Model(model.inputs, layer.input).predict(x, batch_size=64, verbose=0)
    return int(near_tie_mask(values).sum())


def first_divergence(
    model: tf.keras.Model, x: np.ndarray, convert: Callable, rtol: float = 1e-3
) -> Divergence | None:
    """Binary search over prefixes for the first layer whose converted output parts from Keras.

    ``convert(keras_model) -> flatbuffer``. A prefix output differs when some value is off by more
    than ``rtol`` x max(1, max |y|). Returns None when every prefix agrees (e.g. the parts agree
    and only their fusion in the full model differs).
    """
    candidates = [
        layer
        for layer in model.layers
        if not isinstance(layer, tf.keras.layers.InputLayer) and _single_output(layer)
    ]
    errors: dict[int, tuple[float, float, int]] = {}

    def differs(i: int) -> bool:
        if i not in errors:
            errors[i] = _prefix_error(model, candidates[i], x, convert, rtol)
        return errors[i][1] > 0

    lo, hi = 0, len(candidates) - 1
    if hi < 0 or not differs(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if differs(mid):
            hi = mid
        else:
            lo = mid + 1
    layer = candidates[lo]
    max_diff, fraction, count = errors[lo]
    source = binarising_source(layer)
    return Divergence(
        layer.name,
        type(layer).__name__,
        max_diff,
        fraction,
        count,
        None if source is None else _near_ties(model, source, x),
        1 if source is None else _fan_out(source),
        None if source is None or source is layer else source.name,
    )


def _single_input(layer) -> bool:
    try:
        return not isinstance(layer.input, list | tuple | dict)
    except AttributeError:  # a layer called more than once has no single input
        return False


def _single_output(layer) -> bool:
    try:
        output = layer.output
    except AttributeError:  # a layer called more than once has no single output
        return False
    return not isinstance(output, list | tuple | dict)


def _predict(model, x) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=64, verbose=0))


def run(job, convert_model: Callable) -> None:
    """Stage 5: ``job.parity`` (and ``job.parity_with_user_model`` after ``binarize``).

    A sample that disagrees is excused only when it has a near-tie binarised value
    (:func:`near_tie_samples`), at most half the samples disagree, and the first layer where the
    converted prefixes part is explained by float rounding at near ties
    (:func:`first_divergence` on those samples); such samples are reported on their own.
    Otherwise :class:`ExportVerificationError` names the first diverging layer.
    """
    if not job.verify:
        return
    if job.sample_inputs is not None:
        x = np.asarray(job.sample_inputs, dtype=np.float32)
    elif job.int8 and job.representative_data is not None:
        x = job.representative_data[:256]
    else:
        x = sample_inputs(job.model)
    got = run_flatbuffer(job.flatbuffer, x)
    reference = job.ready if job.changed else job.model
    want = _predict(reference, x)
    atol = job.atol
    if atol is None:
        atol = np.inf if job.int8 else FLOAT_RTOL * max(1.0, float(np.max(np.abs(want))))
    min_agreement = job.min_agreement
    if min_agreement is None:
        min_agreement = INT8_MIN_AGREEMENT if job.int8 else 1.0
    label = "binarised Keras model" if job.changed else "Keras model"
    figures = parity(got, want, atol, label)
    if job.changed:
        job.parity_with_user_model = _public(
            parity(got, _predict(job.model, x), atol, "Keras model before binarize")
        )
    if not job.int8 and not passes(figures, min_agreement):
        figures = _explain(job, x, figures, convert_model)
    job.parity = _public(figures)
    if not passes(figures, min_agreement):
        divergence = None
        if not job.int8 and "near_tie_divergence" not in figures:
            disagree = ~figures["per_sample_agreement"]
            divergence = first_divergence(job.ready, x[disagree], convert_model)
        raise ExportVerificationError(failure_message(job.parity, min_agreement, divergence))


def _explain(job, x, figures: dict, convert_model) -> dict:
    """Excuse near-tie sign flips when the diagnosis shows float rounding; else leave as is."""
    disagree = ~figures["per_sample_agreement"]
    flips = disagree & near_tie_samples(job.ready, x)
    if not np.array_equal(flips, disagree) or disagree.sum() > len(x) / 2:
        return figures
    divergence = first_divergence(job.ready, x[flips], convert_model)
    if divergence is None or not divergence.near_tie_rounding:
        return figures
    return excuse_near_tie_flips(figures, flips, divergence)


def _public(figures: dict) -> dict:
    return {k: v for k, v in figures.items() if not k.startswith("per_sample")}
