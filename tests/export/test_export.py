"""bnn_init.export on real LCE conversions (small models; the 784-1024x4-10 MLP is in benchmarks)."""

import argparse
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before TensorFlow loads

import larq as lq  # noqa: E402
import larq_compute_engine as lce  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import bnn_init  # noqa: E402,F401  (sets up tf-keras)
from bnn_init.export import (  # noqa: E402
    ExportVerificationError,
    export_lce,
    export_tflite,
    measure_latency,
)
from bnn_init.export.judge import judge_model  # noqa: E402
from bnn_init.export.layers import FakeQuant  # noqa: E402
from bnn_init.export.report import parse  # noqa: E402
from bnn_init.export.rewrite import prepare  # noqa: E402
from bnn_init.quantizers import HardTanh  # noqa: E402

BIN = dict(input_quantizer="ste_sign", kernel_quantizer="ste_sign", use_bias=False)
WIDTH, DEPTH = 128, 3


def _bn():
    return tf.keras.layers.BatchNormalization(
        gamma_initializer=tf.keras.initializers.RandomUniform(0.5, 1.5, seed=1),
        beta_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=2),
        moving_mean_initializer=tf.keras.initializers.RandomNormal(stddev=1.0, seed=3),
    )


def binary_mlp(input_quantizer="ste_sign"):
    """64 -> 128 (float input, binary kernel) -> 128 x 3 binary ... -> 10 binary."""
    tf.keras.utils.set_random_seed(0)
    layers = [
        tf.keras.Input((64,), name="pixels"),
        lq.layers.QuantDense(WIDTH, kernel_quantizer="ste_sign", use_bias=False, name="float_in"),
        _bn(),
    ]
    for i, units in enumerate([WIDTH] * (DEPTH - 1) + [10], start=1):
        kw = dict(BIN, input_quantizer=input_quantizer)
        layers += [lq.layers.QuantDense(units, name=f"binary_{i}", **kw), _bn()]
    return tf.keras.Sequential(layers)


def binary_convnet(pad_values=1.0):
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((8, 8, 3))
    x = tf.keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    x = _bn()(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=pad_values, name="bconv_1", **BIN)(
        x
    )
    x = _bn()(x)
    x = tf.keras.layers.MaxPooling2D()(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=pad_values, name="bconv_2", **BIN)(
        x
    )
    x = _bn()(x)
    x = tf.keras.layers.Flatten()(x)
    x = lq.layers.QuantDense(10, **BIN)(x)
    return tf.keras.Model(inp, _bn()(x))


@pytest.fixture(scope="module")
def mlp_export(tmp_path_factory):
    model = binary_mlp()
    path = tmp_path_factory.mktemp("mlp") / "mlp.tflite"
    return model, path, export_lce(model, path)


def test_binary_mlp_has_one_bconv_per_binary_dense_and_no_float_fc(mlp_export):
    _, path, rep = mlp_export
    assert rep.op_counts["LceBconv2d"] == DEPTH  # 2 hidden + output binary dense layers
    assert rep.op_counts["FULLY_CONNECTED"] == 1  # only the float-input first layer
    assert "CONV_2D" not in rep.op_counts
    assert os.path.getsize(path) == rep.file_bytes
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]


def test_binary_mlp_matches_keras(mlp_export):
    model, path, rep = mlp_export
    assert rep.parity["samples"] == 256 and rep.parity["argmax_agreement"] == 1.0
    assert rep.parity["max_abs_diff"] < 1e-3
    x = np.random.default_rng(5).standard_normal((64, 64)).astype(np.float32)
    got = lce.testing.Interpreter(path.read_bytes()).predict(x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-3)


def test_binary_layer_bytes_are_bitpacked_and_predicted(mlp_export):
    _, _, rep = mlp_export
    hidden = [n for n in rep.actual_bytes if n.startswith("binary_")][: DEPTH - 1]
    for name in hidden:
        # bitpacked kernel (weights / 8) + one int32 output threshold per unit
        assert rep.actual_bytes[name] == WIDTH * WIDTH // 8 + 4 * WIDTH
        assert rep.actual_bytes[name] == rep.predicted_bytes[name]
    assert rep.actual_bytes["float_in"] == rep.predicted_bytes["float_in"] == 64 * 128 * 4 + 512
    assert rep.binary_bytes == sum(rep.actual_bytes[f"binary_{i}"] for i in range(1, 4))
    assert abs(rep.actual_total - rep.predicted_total) <= 64  # reshape shape constants


def test_lce_default_conversion_leaves_binary_dense_float():
    # The problem export_lce solves (LCE issues #53, #806), shown on the same model.
    counts, _ = parse(lce.convert_keras_model(binary_mlp()))
    assert counts.get("LceBconv2d", 0) == 0
    assert counts["FULLY_CONNECTED"] == DEPTH + 1


def test_conv_bnn_keeps_bitpacked_convs(tmp_path):
    rep = export_lce(binary_convnet(), tmp_path / "conv.tflite")
    assert rep.op_counts["LceBconv2d"] == 3  # two 3x3 convs + the rewritten output dense
    assert rep.op_counts["LceBMaxPool2d"] == 1
    assert rep.op_counts["CONV_2D"] == 1 and "FULLY_CONNECTED" not in rep.op_counts
    assert rep.parity["argmax_agreement"] == 1.0 and rep.parity["max_abs_diff"] < 1e-3
    assert rep.actual_bytes["bconv_2"] == rep.predicted_bytes["bconv_2"]


def test_zero_padding_is_exported_with_a_note(tmp_path):
    rep = export_lce(binary_convnet(pad_values=0.0), tmp_path / "conv0.tflite")
    assert rep.op_counts["LceBconv2d"] == 3
    assert rep.parity["argmax_agreement"] == 1.0
    assert any("pad_values=0" in note for note in rep.notes)


def test_int8_float_layers(tmp_path, mlp_export):
    model, _, float_rep = mlp_export
    data = np.random.default_rng(1).standard_normal((256, 64)).astype(np.float32)
    rep = export_lce(model, tmp_path / "int8.tflite", int8=True, representative_data=data)
    assert rep.op_counts["LceBconv2d"] == DEPTH
    assert rep.actual_bytes["float_in"] == 64 * 128 + 4 * 128  # int8 kernel, int32 bias
    assert rep.binary_bytes == float_rep.binary_bytes
    assert rep.parity["argmax_agreement"] >= 0.9
    assert rep.int8_ranges["pixels"][0] < 0 < rep.int8_ranges["pixels"][1]


def test_mismatch_raises_and_writes_nothing(tmp_path):
    data = np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)
    path = tmp_path / "strict.tflite"
    with pytest.raises(ExportVerificationError, match="no file was written"):
        export_lce(binary_mlp(), path, int8=True, representative_data=data, atol=1e-6)
    assert os.listdir(tmp_path) == []


def test_overwrite_refused_then_allowed(tmp_path, mlp_export):
    model, _, _ = mlp_export
    path = tmp_path / "m.tflite"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_lce(model, path)
    assert path.read_bytes() == b"old"
    rep = export_lce(model, path, overwrite=True, verify=False)
    assert rep.parity is None and path.stat().st_size == rep.file_bytes
    assert sorted(os.listdir(tmp_path)) == ["m.tflite"]


def test_layers_without_export_rules_are_converted_as_they_are(tmp_path):
    # A Lambda, a LayerNormalization and a swish activation: LCE converts them as float ops.
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((16,))
    x = tf.keras.layers.Lambda(lambda t: 2.0 * t, name="doubler")(inp)
    x = tf.keras.layers.LayerNormalization(name="ln")(x)
    x = lq.layers.QuantDense(8, activation="swish", name="qd", **BIN)(x)
    rep = export_lce(tf.keras.Model(inp, x), tmp_path / "y.tflite")
    assert rep.op_counts["LceBconv2d"] == 1
    assert rep.parity["argmax_agreement"] == 1.0 and rep.parity["max_abs_diff"] < 1e-3
    assert (tmp_path / "y.tflite").exists()


def test_ops_no_runtime_provides_are_refused_by_name(tmp_path):
    inp = tf.keras.Input((16,))
    out = lq.layers.QuantDense(8, activation="gelu", **BIN)(inp)
    with pytest.raises(ValueError, match=r"custom ops \['Erfc'\]"):
        export_lce(tf.keras.Model(inp, out), tmp_path / "z.tflite")
    assert os.listdir(tmp_path) == []


def test_bad_arguments(tmp_path):
    model = binary_mlp()
    with pytest.raises(ValueError, match="target='x86'"):
        export_lce(model, tmp_path / "a.tflite", target="x86")
    with pytest.raises(ValueError, match="representative_data=None"):
        export_lce(model, tmp_path / "a.tflite", int8=True)
    with pytest.raises(ValueError, match="does not exist"):
        export_lce(model, tmp_path / "missing" / "a.tflite")


def test_hard_tanh_quantizers_stay_float_unless_binarize_is_asked_for(tmp_path):
    model = binary_mlp(input_quantizer=HardTanh(r=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exact export: no "changes the model" warning
        rep = export_lce(model, tmp_path / "float_ht.tflite")
    assert rep.op_counts.get("LceBconv2d", 0) == 0 and rep.binary_layers == 0
    assert rep.parity["reference"] == "Keras model" and rep.parity["max_abs_diff"] < 1e-3
    assert sum("hard_tanh (r=0.5) is not sign-like" in n for n in rep.notes) == DEPTH
    with pytest.warns(UserWarning, match=r"hard_tanh \(r=0.5\) replaced by sign"):
        rep = export_lce(model, tmp_path / "ht.tflite", binarize=True)
    assert rep.op_counts["LceBconv2d"] == DEPTH
    assert rep.parity["reference"] == "binarised Keras model"
    assert rep.parity["argmax_agreement"] == 1.0
    assert rep.parity_with_user_model["reference"] == "Keras model before binarize"
    assert rep.parity_with_user_model["max_abs_diff"] > rep.parity["max_abs_diff"]
    assert len(rep.changes) == DEPTH


def test_rewrite_is_exact_on_sequence_inputs():
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((5, 24))
    x = lq.layers.QuantDense(12, **dict(BIN, use_bias=True), kernel_constraint="weight_clip")(inp)
    model = tf.keras.Model(inp, _bn()(x))
    model.layers[1].bias.assign(np.linspace(-1, 1, 12))
    ready, roles = prepare(model, judge_model(model))
    assert [type(layer).__name__ for layer in ready.layers[1:4]] == [
        "Reshape",
        "QuantConv2D",
        "Reshape",
    ]
    x = np.random.default_rng(0).standard_normal((16, 5, 24)).astype(np.float32)
    np.testing.assert_allclose(ready.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_float_tflite_baseline(tmp_path, mlp_export):
    model, _, lce_rep = mlp_export
    rep = export_tflite(model, tmp_path / "float.tflite")
    assert rep.op_counts["FULLY_CONNECTED"] == DEPTH + 1
    assert "LceBconv2d" not in rep.op_counts
    assert rep.parity["argmax_agreement"] == 1.0
    assert rep.file_bytes > 3 * lce_rep.file_bytes


def test_cli_exports_a_saved_keras_model(tmp_path, capsys):
    from bnn_init.export.cli import add_parser

    model = binary_convnet()
    model.save(tmp_path / "net.keras")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["export", str(tmp_path / "net.keras"), str(tmp_path / "net.tflite")])
    assert args.func(args) == 0
    assert "LceBconv2d x3" in capsys.readouterr().out
    assert (tmp_path / "net.tflite").exists()


@pytest.mark.parametrize("fmt", ["keras", "tf"])
def test_fake_quant_round_trips(tmp_path, fmt):
    model = tf.keras.Sequential([tf.keras.Input((3,)), FakeQuant(-1.0, 2.0)])
    path = str(tmp_path / ("m.keras" if fmt == "keras" else "saved"))
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = tf.keras.models.load_model(path)
    x = np.array([[-3.0, 0.3, 5.0]], np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.predict(x, verbose=0).max() <= 2.0 + 1e-6
    with pytest.raises(ValueError, match="need min < max"):
        FakeQuant(1.0, 1.0)


def test_mfb_network_exports_bitpacked_with_exact_parity(tmp_path):
    from bnn_init.datasets import load_digits
    from bnn_init.training import MFBNetwork

    (x, y), (x_test, _) = load_digits(add_bias=True)
    net = MFBNetwork(x.shape[1], 8, 10, seed=0)
    net.fit(x[:400], y[:400], epochs=1, verbose=0)
    rep = export_lce(net, tmp_path / "mfb.tflite", sample_inputs=x_test[:128])
    # hidden: float input, +-1 kernel (float op); converging output: masked {-1, 0, +1} kernel
    # exported as the mean of two bitpacked binary layers
    assert rep.op_counts["LceBconv2d"] == 1 and rep.op_counts["FULLY_CONNECTED"] == 1
    assert rep.actual_bytes["converging_output"] == rep.predicted_bytes["converging_output"]
    assert rep.actual_bytes["converging_output"] == 2 * 10 * 3 * 4 + 8 * 2 * 10  # 80 -> 2 x 10
    assert rep.actual_bytes["hidden"] == rep.predicted_bytes["hidden"] == 65 * 80 * 4
    assert rep.parity["max_abs_diff"] == 0.0 and rep.parity["argmax_agreement"] == 1.0
    scores = lce.testing.Interpreter((tmp_path / "mfb.tflite").read_bytes()).predict(x_test)
    np.testing.assert_array_equal(scores, net.map_scores(x_test))


def test_ternary_conv_with_bias_and_activation_is_split_exactly(tmp_path):
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((6, 6, 40))
    conv = lq.layers.QuantConv2D(
        8, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign", activation="relu"
    )
    model = tf.keras.Model(inp, conv(inp))
    levels = np.random.default_rng(0).integers(-1, 2, size=conv.kernel.shape)
    conv.set_weights([levels.astype(np.float32), np.linspace(-3, 3, 8).astype(np.float32)])
    rep = export_lce(model, tmp_path / "ternary.tflite")
    assert rep.op_counts["LceBconv2d"] == 1 and "CONV_2D" not in rep.op_counts
    assert rep.op_counts["AVERAGE_POOL_2D"] == 1
    assert rep.parity["max_abs_diff"] < 1e-4 and rep.parity["argmax_agreement"] == 1.0
    assert any("{-1, 0, +1}" in note for note in rep.notes)


def test_quantization_aware_bnn_exports_int8_float_layers(tmp_path):
    import tensorflow_model_optimization as tfmot

    tf.keras.utils.set_random_seed(0)
    annotate = tfmot.quantization.keras.quantize_annotate_layer
    inp = tf.keras.Input((64,))
    stem = tf.keras.layers.Dense(WIDTH, bias_initializer="random_normal", name="stem")
    x = annotate(stem)(inp)
    x = _bn()(lq.layers.QuantDense(WIDTH, **BIN)(x))
    x = _bn()(lq.layers.QuantDense(10, **BIN)(x))
    with tfmot.quantization.keras.quantize_scope({"QuantDense": lq.layers.QuantDense}):
        model = tfmot.quantization.keras.quantize_apply(tf.keras.Model(inp, x))
    rep = export_lce(model, tmp_path / "qat.tflite")  # int8 from tfmot's fake-quant ranges
    assert rep.op_counts["LceBconv2d"] == 2
    assert rep.actual_bytes["quant_stem"] == rep.predicted_bytes["quant_stem"]
    assert rep.actual_bytes["quant_stem"] == 64 * WIDTH + 4 * WIDTH  # int8 kernel, int32 bias
    assert rep.parity["argmax_agreement"] >= 0.9
    assert any("quantization-aware" in note for note in rep.notes)


def test_measure_latency(mlp_export):
    _, path, _ = mlp_export
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    seconds = measure_latency(path, x, runs=20)
    assert 0 < seconds < 0.1
    assert 0 < measure_latency(path.read_bytes(), runs=5, warmup=0) < 0.1
    with pytest.raises(ValueError, match="runs must be an integer >= 1"):
        measure_latency(path, runs=0)
    with pytest.raises(ValueError, match=r"inputs has shape \(4, 32\)"):
        measure_latency(path, x[:, :32])
    with pytest.raises(ValueError, match="is not a file"):
        measure_latency(path.parent / "missing.tflite")
    with pytest.raises(TypeError, match="flatbuffer_or_path"):
        measure_latency(42)


def test_export_int8_example_runs_quick():
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "examples" / "export_int8.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,  # the example alone takes ~15 s; a loaded 2-core machine is slower
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "LceBconv2d x2" in out and "FULLY_CONNECTED x1" in out
    keras, lce_int8 = map(
        float, re.search(r"Keras ([\d.]+), int8 LCE flatbuffer ([\d.]+)", out).groups()
    )
    assert keras > 0.7 and abs(keras - lce_int8) < 0.05


def test_surrogate_mlp_exports_bitpacked_through_to_binary(tmp_path):
    from bnn_init.datasets import load_digits
    from bnn_init.layers import DeterministicSurrogateDense, to_binary

    tf.keras.utils.set_random_seed(0)
    (x, y), (x_test, _) = load_digits()
    model = tf.keras.Sequential(
        [
            tf.keras.Input((64,)),
            DeterministicSurrogateDense(64, input_kind="real"),
            DeterministicSurrogateDense(64),
            DeterministicSurrogateDense(10, return_field=True),
        ]
    )
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)
    rep = export_lce(model, tmp_path / "surrogate.tflite", sample_inputs=x_test[:128])
    hidden, output = (model.layers[i].name for i in (1, 2))
    assert rep.op_counts["LceBconv2d"] == 2 and rep.op_counts["FULLY_CONNECTED"] == 1
    assert rep.actual_bytes[hidden] == rep.predicted_bytes[hidden] == 64 * 64 // 8 + 4 * 64
    assert rep.actual_bytes[output] == rep.predicted_bytes[output] == 10 * 2 * 4 + 8 * 10
    assert rep.parity["argmax_agreement"] == 1.0 and rep.parity["max_abs_diff"] < 1e-4
    scores = lce.testing.Interpreter((tmp_path / "surrogate.tflite").read_bytes()).predict(x_test)
    np.testing.assert_allclose(scores, to_binary(model).predict(x_test, verbose=0), atol=1e-4)
