"""Where LCE 0.16 itself computes something else than Keras: minimal reproducers, and the
equivalent formulations export_lce uses instead (each exact)."""

import larq as lq
import larq_compute_engine as lce
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras)
from bnn_init.export import export_lce, first_divergence
from bnn_init.export.convert import lce_converter
from bnn_init.export.verify import run_flatbuffer


def small_input_zero_padded(side: int, kernel: int = 3, kernel_quantizer="ste_sign"):
    """Float stem, then a zero-padded binary convolution on a side x side input."""
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((side, side, 32))
    x = tf.keras.layers.Conv2D(32, 1, name="stem")(inp)
    x = lq.layers.QuantConv2D(
        32,
        kernel,
        padding="same",
        pad_values=0.0,
        input_quantizer="ste_sign",
        kernel_quantizer=kernel_quantizer,
        use_bias=False,
        name="small_bconv",
    )(x)
    return tf.keras.Model(inp, tf.keras.layers.GlobalAveragePooling2D()(x))


def _inputs(model, n=32):
    return np.random.default_rng(1).normal(size=(n, *model.input_shape[1:])).astype(np.float32)


@pytest.mark.parametrize("side, kernel", [(2, 3), (1, 3), (4, 5)])
def test_lce_zero_padding_is_wrong_when_the_input_is_smaller_than_the_kernel(side, kernel):
    model = small_input_zero_padded(side, kernel)
    x = _inputs(model)
    got = run_flatbuffer(lce.convert_keras_model(model), x)
    assert np.abs(got - model.predict(x, verbose=0)).max() > 1.0  # LCE's own conversion


@pytest.mark.parametrize("kernel_quantizer", ["ste_sign", "magnitude_aware_sign"])
def test_export_corrects_small_input_zero_padding_exactly(tmp_path, kernel_quantizer):
    model = small_input_zero_padded(2, kernel_quantizer=kernel_quantizer)
    rep = export_lce(model, tmp_path / "m.tflite", sample_inputs=_inputs(model))
    assert rep.bitpacked_ops == 1
    assert rep.parity["max_abs_diff"] < 1e-5 and rep.parity["argmax_agreement"] == 1.0
    assert any("smaller than the (3, 3) kernel" in note for note in rep.notes)


def test_first_divergence_names_the_layer_lce_gets_wrong():
    model = small_input_zero_padded(2)
    found = first_divergence(model, _inputs(model, 8), lce_converter("arm"))
    assert found.layer == "small_bconv" and found.kind == "QuantConv2D"
    assert found.differing_fraction > 0.5 and found.cause == "a conversion error in this layer"
    assert "they part at layer 'small_bconv'" in str(found)


def tiny_bias_chain(bias: float):
    """Three binary 1x1 convolutions of even fan-in 64; the middle one has a tiny bias."""
    tf.keras.utils.set_random_seed(0)
    layers = [tf.keras.Input((4, 4, 64))]
    for i in range(3):
        layers.append(
            lq.layers.QuantConv2D(
                64 if i < 2 else 10,
                1,
                input_quantizer="ste_sign" if i else None,
                kernel_quantizer="ste_sign",
                name=f"conv_{i}",
            )
        )
    model = tf.keras.Sequential(layers)
    kernel, _ = model.layers[1].get_weights()
    model.layers[1].set_weights([kernel, np.full(64, bias, np.float32)])
    return model


def test_lce_thresholds_lose_a_bias_below_float32_resolution():
    # floor(0.5 * (beta / gamma + a)) in float32 with a = 64: 64 - 1e-6 rounds to 64, so a dot
    # product of exactly 0 gets +1 from LCE where Keras has sign(-1e-6) = -1.
    model = tiny_bias_chain(-1e-6)
    x = _inputs(model, 64)
    exported = run_flatbuffer(lce.convert_keras_model(model), x)
    assert np.abs(exported - model.predict(x, verbose=0)).max() > 1.0


def test_export_moves_such_biases_mid_gap_and_is_exact(tmp_path):
    model = tiny_bias_chain(-1e-6)
    x = _inputs(model, 64)
    rep = export_lce(model, tmp_path / "t.tflite", sample_inputs=x)
    assert rep.bitpacked_ops == 2
    assert rep.parity["max_abs_diff"] < 1e-5 and rep.parity["samples"] == 64
    assert "near_tie_flips" not in rep.parity
    assert any(note.startswith("conv_1: bias moved to mid-gap") for note in rep.notes)


def test_near_tie_flips_are_excused_only_when_the_divergence_is_explained():
    from bnn_init.export.verify import Divergence, excuse_near_tie_flips, parity, passes

    want = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.8]], np.float32)
    got = want.copy()
    got[2] = [0.9, 0.1]  # the third input's sign flipped somewhere
    figures = parity(got, want, 1e-3, "Keras model")
    assert not passes(figures, 1.0)
    explained = Divergence("bconv", "QuantConv2D", 2.0, 1e-4, 9, 3, 9 * 64)
    assert explained.near_tie_rounding and "float rounding" in explained.cause
    unexplained = Divergence("bconv", "QuantConv2D", 2.0, 0.5, 9000, 3, 9 * 64)
    assert not unexplained.near_tie_rounding and "conversion error" in unexplained.cause
    excused = excuse_near_tie_flips(figures, np.array([False, False, True]), explained)
    assert passes(excused, 1.0) and excused["samples"] == 2 and excused["near_tie_flips"] == 1
    assert excused["near_tie_argmax_agreement"] == 0.0
