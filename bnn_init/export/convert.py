"""export_lce / export_tflite: one pass of stages, top to bottom, over one :class:`ExportJob`.

1. judge (:mod:`~bnn_init.export.judge`): a verdict per layer; what is bitpacked, what stays
   float and why;
2. rewrite (:mod:`~bnn_init.export.rewrite`): exact rewrites where LCE would leave a binary layer
   float or compute it wrongly; the user's model itself when none is needed;
3. int8 (:mod:`~bnn_init.export.int8`): calibrated fake-quant points for the float layers;
4. convert (here): ``larq_compute_engine.convert_keras_model`` or the stock TFLite converter;
5. verify (:mod:`~bnn_init.export.verify`): the flatbuffer in the LCE interpreter against the
   Keras model, and where they part when they disagree;
6. report (:mod:`~bnn_init.export.report`), then the file is written atomically
   (:mod:`~bnn_init.export.atomic`).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import tensorflow as tf

from bnn_init.export import atomic, judge, report, rewrite
from bnn_init.export import int8 as int8_stage
from bnn_init.export import verify as verify_stage
from bnn_init.export.job import ExportJob
from bnn_init.primitives.checks import first_line

TARGETS = ("arm", "xcore")
LCE_CUSTOM_OPS = frozenset({"LceBconv2d", "LceQuantize", "LceDequantize", "LceBMaxPool2d"})


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
        from bnn_init.layers import to_binary  # surrogate -> Larq model

        model = to_binary(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "export supports one of each"
        )
    return model


def quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` without the converters' warnings and prints."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs)


def lce_converter(target: str):
    """``keras_model -> flatbuffer`` with Larq Compute Engine's converter for ``target``."""
    import larq_compute_engine as lce

    def convert_model(keras_model):
        return quiet(lce.convert_keras_model, keras_model, target=target)

    return convert_model


def tflite_converter(int8_data):
    """``keras_model -> flatbuffer`` with the stock TFLite converter (int8 with data)."""

    def convert_model(keras_model):
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
        if int8_data is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]

            def dataset():
                for row in int8_data[:256]:
                    yield [row[None]]

            converter.representative_dataset = dataset
        return quiet(converter.convert)

    return convert_model


def _convert(job: ExportJob, convert_model) -> None:
    try:
        job.flatbuffer = convert_model(job.to_convert)
    except Exception as err:  # the converters raise many types; the message is what helps
        raise ValueError(f"model: the {job.converter} converter failed: {first_line(err)}") from err
    counts, _ = report.parse(job.flatbuffer)
    unknown = sorted(op for op in counts if op not in LCE_CUSTOM_OPS and not op.isupper())
    if unknown:
        raise ValueError(
            f"model: the converted file needs custom ops {unknown}, which neither TFLite nor LCE "
            "provide (e.g. Erfc from a gelu activation); replace the layers that produce them"
        )
    if job.compare_default:
        unchanged = job.to_convert is job.model or not job.converter.startswith("lce")
        default = job.flatbuffer if unchanged else convert_model(job.model)
        counts, _ = report.parse(default)
        job.default_conversion = {"file_bytes": len(default), "op_counts": dict(counts)}


def _convert_verify_write(job: ExportJob, convert_model) -> report.ExportReport:
    """Stages 4 to 6, then the atomic write; returns the report."""
    _convert(job, convert_model)
    verify_stage.run(job, convert_model)
    report.run(job)
    atomic.write_bytes(job.path, job.flatbuffer, job.overwrite)
    return job.report


def _start(model, path, converter, **options) -> ExportJob:
    path = atomic.check_target(path, options["overwrite"])
    if options.get("target", "arm") not in TARGETS:
        raise ValueError(f"target={options['target']!r}; allowed: {TARGETS}")
    for name in ("int8", "binarize", "verify", "overwrite", "compare_default"):
        if not isinstance(options.get(name, False), bool):
            raise TypeError(f"{name} must be a bool, got {options[name]!r}")
    data = options.get("representative_data")
    if data is not None:
        data = np.asarray(data, dtype=np.float32)
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(
                f"representative_data has shape {data.shape}; need a non-empty batch of model inputs"
            )
        options["representative_data"] = data
    return ExportJob(as_keras_model(model), path, converter, **options)


def export_lce(
    model,
    path,
    *,
    target="arm",
    int8=False,
    binarize=False,
    representative_data=None,
    verify=True,
    overwrite=False,
    sample_inputs=None,
    atol=None,
    min_agreement=None,
    compare_default=False,
):
    """Export a BNN to an LCE flatbuffer with every binary layer bitpacked; return a report.

    The file computes the given model: every quantizer LCE converts exactly (``ste_sign``,
    ``approx_sign``, ``swish_sign``, ``magnitude_aware_sign``) is kept, other quantizers and
    layers are converted as float ops (the report's notes say which and why), and where LCE
    would leave a binary layer float or compute it wrongly an exact rewrite is used (see
    :mod:`bnn_init.export.rewrite`). ``binarize=True`` replaces bnn-init's hard-tanh B_r
    quantizers by sign, which changes the function; verification then checks the binarised
    model and reports parity with the original as well.

    ``int8=True`` adds calibrated int8 points for the float layers (needs
    ``representative_data`` unless the model is prepared for quantization-aware training with
    tensorflow-model-optimization). The flatbuffer runs in the LCE interpreter on
    ``sample_inputs`` (default: standard-normal inputs, or ``representative_data``).

    Tolerances: float export needs max |diff| <= ``atol`` (default 1e-3 x max(1, max |y|), as
    LCE's own end-to-end tests) and 100 % argmax agreement; int8 export needs
    ``min_agreement`` (default 90 %). A miss raises
    :class:`~bnn_init.export.verify.ExportVerificationError` naming the first layer where the
    flatbuffer and Keras part, and writes nothing. ``compare_default=True`` also converts with
    LCE's defaults and reports that file's size and ops.

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
    job = _start(
        model,
        path,
        f"lce-{target}",
        target=target,
        int8=int8,
        binarize=binarize,
        representative_data=representative_data,
        sample_inputs=sample_inputs,
        verify=verify,
        overwrite=overwrite,
        atol=atol,
        min_agreement=min_agreement,
        compare_default=compare_default,
    )
    judge.run(job)
    for change in job.changes:
        warnings.warn(f"export_lce changes the model: {change}", UserWarning, stacklevel=2)
    rewrite.run(job)
    int8_stage.run(job)
    return _convert_verify_write(job, lce_converter(target))


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
    job = _start(
        model,
        path,
        "tflite",
        int8=int8,
        representative_data=representative_data,
        sample_inputs=sample_inputs,
        verify=verify,
        overwrite=overwrite,
        atol=atol,
        min_agreement=min_agreement,
    )
    if int8 and job.representative_data is None:
        raise ValueError("representative_data=None: int8=True needs representative inputs")
    job.ready = job.to_convert = job.model
    job.roles = {layer.name: "float" for layer in job.model.layers}
    return _convert_verify_write(job, tflite_converter(job.representative_data if int8 else None))
