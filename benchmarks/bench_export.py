# ruff: noqa: I001  (bnn_init must be imported before TensorFlow: it selects tf-keras)
"""LCE export: size and single-thread latency of bitpacked BNNs against float TFLite and LCE default.

Models:

* the 784-1024x4-10 binary MLP: 784 -> 1024 float-input layer with +-1 kernel, four binary
  1024 -> 1024 layers, binary 1024 -> 10; BatchNorm after each;
* a small binary conv net in the QuickNet spirit, where binary convolutions carry > 98 % of the
  multiply-accumulates: 32x32x3 input, float 3x3 stem conv (64), binary 3x3 convs 64->128 @ 32x32,
  128->256 @ 16x16, 256->256 @ 8x8 (``pad_values=1``, BatchNorm, 2x2 max-pooling between), global
  average pooling and a float 10-way classifier.

* larq-zoo's QuickNetSmall (32x32x3, 10 classes; :func:`bnn_init.testing.zoo_model`), whose
  float baseline is the same model through the stock TFLite converter.

Baselines, built and timed in the same run: the float model of the same architecture (Dense /
Conv2D in place of the Larq layers) through the stock TFLite converter, and LCE's default
``convert_keras_model`` of the binary model. All latencies come from
:func:`bnn_init.export.measure_latency`: LCE interpreter, one thread, batch 1, float ops on the
interpreter's built-in kernels on both sides (no XNNPack), binary ops on LCE's indirect BGEMM
kernel (a second row shows LCE's default bconv kernel). Models are timed in interleaved rounds and
each keeps its best round median, so load from other processes hits all of them alike.

Per-op rows for the conv net time each layer alone (binary layer vs the float layer of the same
shape, each with its BatchNorm) to show where the time goes. Ratios are "times better":
baseline / value for sizes and latencies.
"""

import bnn_init  # noqa: F401  (sets up tf-keras before TensorFlow is imported)

import tempfile
from pathlib import Path

import larq as lq
import larq_compute_engine as lce
import numpy as np
import tensorflow as tf

from bnn_init.export import export_lce, export_tflite, measure_latency
from bnn_init.export.convert import quiet
from bnn_init.export.report import parse
from bnn_init.testing import zoo_model

from . import row

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)
CONV_STAGES = ((128, True), (256, True), (256, False))  # (filters, max-pool after)
ROUNDS, RUNS = 5, 20


def _bn():
    return tf.keras.layers.BatchNormalization(
        beta_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=2),
        moving_mean_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=3),
    )


def _dense(binary: bool, units: int, first: bool = False):
    if not binary:
        return tf.keras.layers.Dense(units, use_bias=False)
    if first:
        return lq.layers.QuantDense(units, kernel_quantizer="ste_sign", use_bias=False)
    return lq.layers.QuantDense(units, **BIN)


def _conv(binary: bool, filters: int):
    if binary:
        return lq.layers.QuantConv2D(filters, 3, padding="same", pad_values=1.0, **BIN)
    return tf.keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)


def mlp(binary: bool) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    layers = [tf.keras.Input((784,)), _dense(binary, 1024, first=True), _bn()]
    for units in [1024] * 4 + [10]:
        layers += [_dense(binary, units), _bn()]
    return tf.keras.Sequential(layers)


def convnet(binary: bool) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(0)
    x = inp = tf.keras.Input((32, 32, 3))
    x = _bn()(tf.keras.layers.Conv2D(64, 3, padding="same", use_bias=False)(x))
    for filters, pool in CONV_STAGES:
        x = _bn()(_conv(binary, filters)(x))
        x = tf.keras.layers.MaxPooling2D()(x) if pool else x
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inp, tf.keras.layers.Dense(10)(x))


def conv_layers():
    """(name, input shape, layer factory(binary)) for each conv of :func:`convnet`, timed alone."""
    layers = [
        ("stem_3to64_at32", (32, 32, 3), lambda b: tf.keras.layers.Conv2D(64, 3, padding="same"))
    ]
    size, channels = 32, 64
    for filters, pool in CONV_STAGES:
        layers.append(
            (
                f"bconv_{channels}to{filters}_at{size}",
                (size, size, channels),
                lambda b, f=filters: _conv(b, f),
            )
        )
        size, channels = (size // 2 if pool else size), filters
    return layers


def _best_latencies(flatbuffers: dict, indirect: bool = True) -> dict:
    """Seconds per model: best over interleaved rounds of the median of RUNS inferences."""
    best = dict.fromkeys(flatbuffers, np.inf)
    for _ in range(ROUNDS):
        for key, fb in flatbuffers.items():
            t = measure_latency(fb, runs=RUNS, use_indirect_bgemm=indirect)
            best[key] = min(best[key], t)
    return best


def _row(bench, value, unit, baseline, target, ratio=None):
    """`row` with ratio = baseline / value unless given."""
    return row(bench, value, unit, baseline, baseline / value if ratio is None else ratio, target)


def _compare(name, binary_model, float_model, tmp: Path, int8_data=None):
    ours = export_lce(binary_model, tmp / f"{name}.tflite")
    flt = export_tflite(float_model, tmp / f"{name}_float.tflite")
    fbs = {
        "ours": (tmp / f"{name}.tflite").read_bytes(),
        "float": (tmp / f"{name}_float.tflite").read_bytes(),
        "default": quiet(lce.convert_keras_model, binary_model),
    }
    t = _best_latencies(fbs)
    t_plain = _best_latencies({"ours": fbs["ours"]}, indirect=False)["ours"]
    ms = {k: 1e3 * v for k, v in t.items()}
    yield _row(f"export/{name}/size_vs_float", ours.file_bytes, "bytes", flt.file_bytes, None)
    yield _row(
        f"export/{name}/size_vs_lce_default", ours.file_bytes, "bytes", len(fbs["default"]), None
    )
    yield _row(f"export/{name}/latency_vs_float", ms["ours"], "ms", ms["float"], ">= 4x")
    yield _row(f"export/{name}/latency_vs_lce_default", ms["ours"], "ms", ms["default"], None)
    yield _row(
        f"export/{name}/latency_default_bconv_kernel_vs_float",
        1e3 * t_plain,
        "ms",
        ms["float"],
        None,
    )
    yield row(
        f"export/{name}/parity_max_abs_diff",
        ours.parity["max_abs_diff"],
        "abs",
        None,
        None,
        f"<= {ours.parity['atol']:.3g}",
    )
    yield row(
        f"export/{name}/argmax_agreement",
        ours.parity["argmax_agreement"],
        "fraction",
        1.0,
        ours.parity["argmax_agreement"],
        "1.0",
    )
    counts, _ = parse(fbs["default"])
    yield row(
        f"export/{name}/lce_default_float_fc_ops",
        counts.get("FULLY_CONNECTED", 0),
        "ops",
        ours.op_counts.get("FULLY_CONNECTED", 0),
        None,
        None,
    )
    if int8_data is not None:
        q = export_lce(
            binary_model, tmp / f"{name}_int8.tflite", int8=True, representative_data=int8_data
        )
        yield _row(
            f"export/{name}/int8_size_vs_float", q.file_bytes, "bytes", flt.file_bytes, ">= 12x"
        )
        yield row(
            f"export/{name}/int8_argmax_agreement",
            q.parity["argmax_agreement"],
            "fraction",
            1.0,
            q.parity["argmax_agreement"],
            ">= 0.9",
        )
    yield from _hidden_layer_bytes(name, binary_model, ours)


def _hidden_layer_bytes(name, binary_model, report):
    for layer, nbytes in report.actual_bytes.items():
        model_layer = binary_model.get_layer(layer) if layer[0] != "<" else None
        if model_layer is None or type(model_layer).__name__ != "QuantDense":
            continue
        kernel = model_layer.kernel
        if model_layer.input_quantizer is None or kernel.shape[-1] == 10:
            continue  # float-input and output layers are not hidden binary layers
        weights_over_8 = kernel.shape.num_elements() / 8
        yield _row(
            f"export/{name}/{layer}_bytes_over_weights_div_8",
            nbytes,
            "bytes",
            weights_over_8,
            "<= 1.05x",
            ratio=nbytes / weights_over_8,
        )


def _per_op(name, whole_ms: float):
    """Each conv layer of the conv net alone (with its BatchNorm): LCE vs float, ms and share."""
    for op, shape, make in conv_layers():
        fbs = {}
        for binary in (True, False):
            inp = tf.keras.Input(shape)
            model = tf.keras.Model(inp, _bn()(make(binary)(inp)))
            fbs[binary] = quiet(lce.convert_keras_model, model)
        t = _best_latencies(fbs)
        yield _row(
            f"export/{name}/op/{op}/latency_vs_float", 1e3 * t[True], "ms", 1e3 * t[False], None
        )
        yield row(
            f"export/{name}/op/{op}/share_of_whole_lce_latency",
            1e3 * t[True] / whole_ms,
            "fraction",
            None,
            None,
            None,
        )


def run():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = rng.standard_normal((256, 784)).astype(np.float32)
        yield from _compare("mlp_784_1024x4_10", mlp(True), mlp(False), tmp, int8_data=data)
        whole = None
        for row in _compare("conv_32x32", convnet(True), convnet(False), tmp):
            if row["bench"].endswith("/latency_vs_float"):
                whole = row["value"]
            yield row
        yield from _per_op("conv_32x32", whole)
        # A model users bring: larq-zoo's QuickNetSmall at 32x32x3 (random weights, trained-like
        # BatchNorm); its float baseline is the same model through the stock TFLite converter.
        quicknet = zoo_model("QuickNetSmall")
        yield from _compare("quicknet_small_32x32", quicknet, quicknet, tmp)


if __name__ == "__main__":
    for result in run():
        print(result)
