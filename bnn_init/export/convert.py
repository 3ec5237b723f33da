"""export_lce / export_tflite: checked, converted, verified, atomically written flatbuffers."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import tensorflow as tf

from bnn_init.export import atomic, report, verify
from bnn_init.export.rewrite import judge_model, prepare
from bnn_init.export.support import Verdict

TARGETS = ("arm", "xcore")
FLOAT_RTOL = 1e-3
INT8_MIN_AGREEMENT = 0.9


def as_keras_model(model) -> tf.keras.Model:
    """A Larq/Keras model from what users hand us: Keras models, MFB trainers, surrogate models.

    MFB trainers (duck-typed: a ``to_keras()`` method) are asked for their Keras model; models
    with bnn-init surrogate layers go through ``bnn_init.layers.to_binary``.
    """
    if not isinstance(model, tf.keras.Model) and hasattr(model, "to_keras"):
        model = model.to_keras()
    if not isinstance(model, tf.keras.Model):
        raise TypeError(f"model must be a tf.keras.Model, got {type(model).__name__}")
    if any(type(layer).__module__.startswith("bnn_init.layers") for layer in model.layers):
        from bnn_init.layers import to_binary  # written alongside; surrogate -> Larq model

        model = to_binary(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "export supports one of each"
        )
    return model


def _quiet_convert(fn, *args, **kwargs) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs)


def _has_qat(verdicts: dict[str, Verdict]) -> bool:
    return any(v.role == "qat" for v in verdicts.values())


def _validate(target, int8, representative_data):
    if target not in TARGETS:
        raise ValueError(f"target={target!r}; allowed: {TARGETS}")
    if not isinstance(int8, bool):
        raise TypeError(f"int8 must be a bool, got {int8!r}")
    if representative_data is not None:
        representative_data = np.asarray(representative_data, dtype=np.float32)
        if representative_data.ndim < 2 or len(representative_data) == 0:
            raise ValueError(
                f"representative_data has shape {representative_data.shape}; "
                "need a non-empty batch of model inputs"
            )
    return representative_data


def _finish(
    path, flatbuffer, rep, keras_ref, reference, x, int8, atol, min_agreement, verify_, overwrite
) -> report.ExportReport:
    if verify_:
        if atol is None:
            scale = float(np.max(np.abs(keras_ref.predict(x, batch_size=64, verbose=0))))
            atol = np.inf if int8 else FLOAT_RTOL * max(1.0, scale)
        if min_agreement is None:
            min_agreement = INT8_MIN_AGREEMENT if int8 else 1.0
        rep.parity = verify.parity(flatbuffer, keras_ref, x, atol, reference)
        verify.check(rep.parity, min_agreement)
    atomic.write_bytes(path, flatbuffer, overwrite)
    return rep


def export_lce(
    model,
    path,
    *,
    target="arm",
    int8=False,
    representative_data=None,
    verify=True,
    overwrite=False,
    sample_inputs=None,
    atol=None,
    min_agreement=None,
):
    """Export a BNN to an LCE flatbuffer with every binary layer bitpacked; return a report.

    Steps: judge every layer against :data:`bnn_init.export.support.LAYER_TABLE` (refusing the
    unsupported ones by name), rewrite binary dense layers as 1x1 binary convolutions, fold
    binary kernels and split {-1, 0, +1} kernels (e.g. MFB's masked converging layer) into two
    binary ones (:mod:`bnn_init.export.rewrite`), add calibrated int8 points when
    ``int8=True`` (:mod:`bnn_init.export.int8`; a model prepared for quantization-aware
    training with tensorflow-model-optimization is int8 from its own fake-quant ranges and
    needs no ``representative_data``), convert with
    ``larq_compute_engine.convert_keras_model``, run the flatbuffer in the LCE interpreter on
    ``sample_inputs`` (default: 256 standard-normal inputs, or ``representative_data``) and
    compare with the Keras model, then write atomically.

    Tolerances: float export needs max |diff| <= ``atol`` (default 1e-3 x max(1, max |y|)) and
    100 % argmax agreement; int8 export needs ``min_agreement`` (default 90 %) and reports the
    max |diff|. A miss raises :class:`~bnn_init.export.verify.ExportVerificationError` and writes
    nothing.

    Example:
        >>> import larq as lq
        >>> net = tf.keras.Sequential([
        ...     tf.keras.Input((64,)),
        ...     lq.layers.QuantDense(32, input_quantizer="ste_sign", kernel_quantizer="ste_sign"),
        ...     tf.keras.layers.BatchNormalization()])
        >>> rep = export_lce(net, "/tmp/net.tflite", overwrite=True)  # doctest: +SKIP
        >>> rep.op_counts["LceBconv2d"]  # doctest: +SKIP
        1
    """
    import larq_compute_engine as lce

    path = atomic.check_target(path, overwrite)
    representative_data = _validate(target, int8, representative_data)
    keras_model = as_keras_model(model)
    verdicts = judge_model(keras_model)
    changes = [f"{n}: {c}" for n, v in verdicts.items() for c in v.changes]
    notes = [f"{n}: {c}" for n, v in verdicts.items() for c in v.notes]
    for change in changes:
        warnings.warn(f"export_lce changes the model: {change}", UserWarning, stacklevel=2)
    ready, roles = prepare(keras_model, verdicts)
    to_convert, ranges = ready, None
    if int8 and not _has_qat(verdicts):
        from bnn_init.export.int8 import with_fake_quant

        to_convert, ranges = with_fake_quant(ready, roles, representative_data)
    elif int8:
        notes.append("int8 from the model's quantization-aware fake-quant ops")
    elif _has_qat(verdicts):
        notes.append("model holds quantization-aware layers: the converter makes them int8")
        int8 = True
    flatbuffer = _quiet_convert(lce.convert_keras_model, to_convert, target=target)
    rep = report.build(path, flatbuffer, ready, roles, converter=f"lce-{target}", int8=int8)
    rep.changes, rep.notes, rep.int8_ranges = changes, notes, ranges
    x = _samples(keras_model, sample_inputs, representative_data if int8 else None)
    reference = "binarised Keras model" if changes else "Keras model"
    keras_ref = ready if changes else keras_model
    return _finish(
        path, flatbuffer, rep, keras_ref, reference, x, int8, atol, min_agreement, verify, overwrite
    )


def export_tflite(
    model,
    path,
    *,
    int8=False,
    representative_data=None,
    verify=True,
    overwrite=False,
    sample_inputs=None,
    atol=None,
    min_agreement=None,
):
    """Export with the stock TFLite converter (the float baseline); same checks and report.

    ``int8=True`` is TFLite's post-training integer quantization with ``representative_data``
    (float input/output). No layer is rewritten: binary layers become float ops.

    Example:
        >>> rep = export_tflite(net, "/tmp/net_float.tflite", overwrite=True)  # doctest: +SKIP
        >>> rep.op_counts.get("LceBconv2d", 0)  # doctest: +SKIP
        0
    """
    path = atomic.check_target(path, overwrite)
    representative_data = _validate("arm", int8, representative_data)
    keras_model = as_keras_model(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if int8:
        if representative_data is None:
            raise ValueError("representative_data=None: int8=True needs representative inputs")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        data = representative_data

        def dataset():
            for row in data[:256]:
                yield [row[None]]

        converter.representative_dataset = dataset
    flatbuffer = _quiet_convert(converter.convert)
    roles = {layer.name: "float" for layer in keras_model.layers}
    rep = report.build(path, flatbuffer, keras_model, roles, converter="tflite", int8=int8)
    x = _samples(keras_model, sample_inputs, representative_data if int8 else None)
    return _finish(
        path,
        flatbuffer,
        rep,
        keras_model,
        "Keras model",
        x,
        int8,
        atol,
        min_agreement,
        verify,
        overwrite,
    )


def _samples(model, given, representative):
    if given is not None:
        return np.asarray(given, dtype=np.float32)
    if representative is not None:
        return representative[: verify.DEFAULT_SAMPLES]
    return verify.sample_inputs(model)
