"""SignalPropagationMonitor: measured statistics, agreement with the mean-field theory, and the
TensorBoard event files it writes (read back with TensorBoard's event reader)."""

import bnn_init  # noqa: F401  (first: selects tf-keras)

# isort: split
import csv
import math
import warnings

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.util import tensor_util

from bnn_init import nets
from bnn_init.callbacks import SignalPropagationMonitor, statistics
from bnn_init.callbacks.prediction import critical_fix, predict, verdict
from bnn_init.callbacks.probe import Probe, per_example_loss
from bnn_init.cli import main as cli_main
from bnn_init.testing import compiled_classifier, random_classification, read_run
from bnn_init.theory import ContinuousNet, HardTanhBNN, SignNet

QUANTITIES = ("q", "c", "grad_var", "saturation")


# ---------------------------------------------------------------- helpers
def layer_values(run, quantity, depth, step=0):
    return np.array(
        [run[f"signal_propagation/layer_{n:02d}/{quantity}"][step] for n in range(1, depth + 1)]
    )


def hard_tanh_net(depth, width, inputs, sigma_w2=None, sigma_b2=0.0, outputs=None, r=1.0):
    """The uniform-kernel hard-tanh MLP of `bnn_init.nets`, ``outputs`` wide (``width`` when None)."""
    net = nets.hard_tanh_mlp(
        depth,
        width,
        inputs,
        outputs or width,
        r=r,
        sigma_w2=sigma_w2,
        sigma_b2=sigma_b2,
        kernel="uniform",
    )
    return net.model


def paired_inputs(pairs, features, correlation, seed=0):
    """2 * pairs inputs; example k and example k + pairs have correlation ``correlation``."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((pairs, features))
    b = correlation * a + math.sqrt(1 - correlation**2) * rng.standard_normal((pairs, features))
    return np.concatenate([a, b]).astype(np.float32)


def tanh_net(depth, width, inputs, sigma_w2, sigma_b2, classes=10, seed=0):
    tf.keras.utils.set_random_seed(seed)
    net = nets.tanh_mlp(
        depth, width, inputs, classes, sigma_w2=sigma_w2, sigma_b2=sigma_b2, seed=seed
    )
    return compiled_classifier(net.model, "sgd")


# ---------------------------------------------------------------- statistics
def test_statistics_on_known_arrays():
    h = np.array([[1.0, -1.0, 2.0], [3.0, 0.0, 1.0], [1.0, -1.0, 2.0], [-3.0, 0.0, -1.0]])
    assert statistics.second_moment(h) == pytest.approx(np.mean(h**2))
    assert statistics.pair_correlation(h) == pytest.approx(0.0)  # pairs: c = 1 and c = -1
    with_dead_pair = np.array([[1.0, 2.0], [0.0, 0.0], [2.0, 4.0], [5.0, 1.0]])
    assert statistics.pair_correlation(with_dead_pair) == pytest.approx(1.0)  # zero pair left out
    assert math.isnan(statistics.pair_correlation(np.zeros((4, 3))))
    assert statistics.saturation_fraction(h, 2.0) == pytest.approx(4 / 12)
    assert statistics.gradient_variance(h) == statistics.second_moment(h)
    assert statistics.squared_norm(np.ones((3, 4))) == 12.0
    # sign(0) = +1: 0 -> -0.5 flips, 0 -> 2 does not, -1 -> 1 flips
    assert statistics.sign_flip_ratio([0.0, 0.0, -1.0, 3.0], [-0.5, 2.0, 1.0, 4.0]) == 0.5
    depth = np.arange(1, 11)
    assert statistics.fit_correlation_depth_scale(1 - 0.5 * np.exp(-depth / 3.0)) == pytest.approx(
        3.0
    )
    widths = np.full(10, 64)
    assert statistics.fit_gradient_depth_scale(np.exp(depth / 4.0), widths) == pytest.approx(4.0)
    assert abs(statistics.fit_correlation_depth_scale(np.full(10, 0.5), c_star=1.0)) > 1e12
    assert math.isnan(statistics.fit_correlation_depth_scale([0.5, 0.6]))


def test_statistics_reject_bad_input():
    with pytest.raises(ValueError, match="at least 2 examples"):
        statistics.pair_correlation(np.ones((1, 5)))
    with pytest.raises(ValueError, match="linear_range"):
        statistics.saturation_fraction(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="shapes differ"):
        statistics.sign_flip_ratio(np.ones(3), np.ones(4))


def test_prediction_and_verdict():
    model = HardTanhBNN(r=1.0, sigma_w2=0.5, sigma_b2=0.01)
    prediction = predict(model, 1.0, 0.5, [64, 64, 64, 10], grad_var_last=2.0, linear_range=1.0)
    trajectory = model.trajectory(1.0, 0.5, 4)
    np.testing.assert_allclose(prediction.q, trajectory.q)
    np.testing.assert_allclose(prediction.c, trajectory.c)
    chi = model.backward_factor(trajectory.q[2]) * 10 / 64
    assert prediction.grad_var[3] == 2.0 and prediction.grad_var[2] == pytest.approx(2.0 * chi)
    assert prediction.saturation[0] == pytest.approx(2 * 0.15865525, rel=1e-6)  # P(|z| >= 1)
    line = verdict(model, depth=12)
    assert "chi_1 = 0.5" in line and "depth 12 > 6 xi_c" in line
    assert "CriticalHardTanhNormal(r=1, sigma_b2=0.01)" in line
    assert "signals should propagate" in verdict(HardTanhBNN.critical(r=1.0), depth=100)
    assert critical_fix(SignNet()).startswith("no critical initialisation exists")
    assert "RandomNormal(stddev=sqrt(1.7" in critical_fix(ContinuousNet(sigma_w2=3, sigma_b2=0.05))


# ---------------------------------------------------------------- probe
def test_probe_pre_activations_and_errors_are_exact():
    model = tanh_net(depth=3, width=16, inputs=8, sigma_w2=1.5, sigma_b2=0.1)
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    y = np.arange(6) % 10
    layers = model.layers
    out = Probe(model, layers, per_example_loss(model.loss))(x, y)
    first = x @ layers[0].kernel.numpy() + layers[0].bias.numpy()  # linear part, before tanh
    np.testing.assert_allclose(out["h"][0], first, rtol=1e-5, atol=1e-6)
    logits = model(x).numpy()
    np.testing.assert_allclose(out["h"][2], logits, rtol=1e-5, atol=1e-6)
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(out["delta"][2], softmax - np.eye(10)[y], atol=1e-5)  # per example
    assert [g.shape for g in out["kernel_grad"]] == [(8, 16), (16, 16), (16, 10)]
    assert layers[0].activation is tf.keras.activations.tanh  # restored


# ---------------------------------------------------------------- theory agreement (Schoenholz et al. 2017, Fig. 1, 4)
def test_critical_hard_tanh_matches_theory_at_step_zero(tmp_path):
    depth, width = 20, 1024
    model = hard_tanh_net(depth, width, inputs=256)
    model.compile("sgd", loss="mse")
    x = paired_inputs(128, 256, correlation=0.5)
    monitor = SignalPropagationMonitor(x, log_dir=tmp_path)
    model.fit(x, np.zeros((256, width)), batch_size=256, epochs=1, callbacks=[monitor], verbose=0)
    measured, _ = read_run(tmp_path / "measured")
    theory, _ = read_run(tmp_path / "theory")
    expected = {
        f"signal_propagation/layer_{n:02d}/{k}"
        for n in range(1, 21)
        for k in ("q", "c", "saturation")
    }
    assert expected <= set(measured) and expected <= set(theory)
    assert set(measured[f"signal_propagation/layer_{depth:02d}/q"]) == {
        0,
        1,
    }  # train begin, epoch end
    q, c = layer_values(measured, "q", depth), layer_values(measured, "c", depth)
    q_theory, c_theory = layer_values(theory, "q", depth), layer_values(theory, "c", depth)
    assert c[0] == pytest.approx(0.5, abs=0.05) and c[-1] < c[0] - 0.05  # c moves with depth
    np.testing.assert_allclose(q, q_theory, rtol=0.05)
    np.testing.assert_allclose(c, c_theory, atol=0.02)
    assert np.all(np.diff(q_theory) < 0) and q_theory[-1] < 0.4 * q_theory[0]
    # an infinite depth scale is said in the verdict, not written as a scalar (an empty chart)
    assert "signal_propagation/depth_scale/xi_c" not in theory


def test_ordered_tanh_gradient_decay_matches_xi_grad(tmp_path):
    sigma_w2, sigma_b2 = 1.2, 0.05
    theory = ContinuousNet(phi="tanh", sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    assert theory.chi1 < 1.0  # ordered: gradients vanish towards the input over xi_grad ~ 6 layers
    depth = 20
    model = tanh_net(depth, 512, inputs=128, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 128)).astype(np.float32) * math.sqrt(theory.q_star / sigma_w2)
    monitor = SignalPropagationMonitor(x, rng.integers(0, 10, 128), log_dir=tmp_path)
    monitor.set_model(model)
    monitor.on_train_begin()
    measured, _ = read_run(tmp_path / "measured")
    predicted, _ = read_run(tmp_path / "theory")
    grad = layer_values(measured, "grad_var", depth)
    assert grad[1] < 0.1 * grad[-2]  # vanishing gradients, by an order of magnitude
    fitted = measured["signal_propagation/depth_scale/xi_grad"][0]
    assert predicted["signal_propagation/depth_scale/xi_grad"][0] == pytest.approx(
        theory.xi_grad, rel=1e-6
    )
    assert 1 / fitted == pytest.approx(1 / theory.xi_grad, rel=0.15)
    # the theory's gradient curve, anchored at the last layer, follows the measured one
    grad_theory = layer_values(predicted, "grad_var", depth)
    np.testing.assert_allclose(np.log(grad[1:-1]), np.log(grad_theory[1:-1]), atol=0.5)
    assert monitor.latest["headline"]["sp_xi_grad"] == pytest.approx(fitted, rel=1e-5)


# ---------------------------------------------------------------- the callback in training
def test_logs_history_csv_and_image(tmp_path, capsys):
    model = hard_tanh_net(4, 32, inputs=16, sigma_w2=0.5, sigma_b2=0.01, outputs=10)
    compiled_classifier(model)
    x, y = random_classification(96, 16, 10, seed=0)
    monitor = SignalPropagationMonitor(
        x[:32], y[:32], log_dir=tmp_path / "tb", every_n_steps=2, keras_logs=True
    )
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        batch_size=32,
        epochs=2,
        verbose=0,
        callbacks=[monitor, tf.keras.callbacks.CSVLogger(str(csv_path))],
    )
    for key in ("sp_c_last", "sp_q_ratio", "sp_grad_ratio", "sp_saturation", "sp_sign_flips"):
        assert len(history.history[key]) == 2 and all(map(math.isfinite, history.history[key]))
    with open(csv_path) as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[1]["sp_sign_flips"]) == pytest.approx(history.history["sp_sign_flips"][1])
    measured, accumulator = read_run(tmp_path / "tb" / "measured")
    assert sorted(measured["signal_propagation/layer_01/q"]) == [0, 2, 3, 4, 6]
    assert sorted(measured["signal_propagation/layer_02/sign_flips"]) == [2, 3, 4, 6]
    assert sorted(
        read_run(tmp_path / "tb" / "theory")[0]["signal_propagation/layer_04/grad_var"]
    ) == [0, 2, 3, 4, 6]
    image = accumulator.Tensors("signal_propagation/profile")[0]
    width, height = tensor_util.make_ndarray(image.tensor_proto)[:2]
    assert int(width) > 200 and int(height) > 100
    printed = capsys.readouterr().out
    assert printed.count("SignalPropagationMonitor: HardTanhBNN(r=1.0, sigma_w2=0.5") == 1
    assert "chi_1 = 0.5" in printed


class _SubclassedMLP(tf.keras.Model):
    """A model without a static layer graph: neither a family nor the graph theory applies."""

    def __init__(self):
        super().__init__()
        self.hidden = tf.keras.layers.Dense(16, activation="relu")
        self.out = tf.keras.layers.Dense(4)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def test_no_theory_is_said_once_and_measurements_still_logged(tmp_path, capsys):
    model = _SubclassedMLP()
    model.build((None, 8))
    model.compile("sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    monitor = SignalPropagationMonitor(x, np.zeros((16, 4)), log_dir=tmp_path)
    for _ in range(2):
        model.fit(x, np.zeros((16, 4)), epochs=1, verbose=0, callbacks=[monitor])
    assert capsys.readouterr().out.count("no theory applies") == 1
    measured, _ = read_run(tmp_path / "measured")
    assert "signal_propagation/layer_02/grad_var" in measured
    assert not read_run(tmp_path / "theory")[0]


def test_non_finite_values_warn_once_and_training_continues(tmp_path):
    model = tanh_net(3, 8, inputs=4, sigma_w2=1.0, sigma_b2=0.0)
    model.layers[1].kernel.assign(np.full((8, 8), np.inf, np.float32))
    x = np.ones((8, 4), np.float32)
    monitor = SignalPropagationMonitor(x, np.zeros(8, int), log_dir=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, np.zeros(8, int), epochs=2, verbose=0, callbacks=[monitor])
    ours = [w for w in caught if "non-finite" in str(w.message)]
    assert len(ours) == 1 and len(history.history["loss"]) == 2
    measured, _ = read_run(tmp_path / "measured")
    assert not math.isfinite(measured["signal_propagation/layer_02/q"][0])
    assert math.isnan(measured["signal_propagation/layer_01/grad_var"][0])


def test_branches_residuals_and_layers_without_kernels(tmp_path):
    inputs = tf.keras.Input((6, 6, 2))
    x = tf.keras.layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    left = lq.layers.QuantConv2D(
        8, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign", name="left"
    )(x)
    right = tf.keras.layers.Conv2D(8, 1, name="right")(x)
    x = tf.keras.layers.Add()([x, left, right])
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(3, name="head")(x)
    model = tf.keras.Model(inputs, outputs)
    compiled_classifier(model)
    rng = np.random.default_rng(0)
    x_probe = rng.standard_normal((16, 6, 6, 2)).astype(np.float32)
    y_probe = rng.integers(0, 3, 16)
    theory = SignNet()
    monitor = SignalPropagationMonitor(x_probe, y_probe, log_dir=tmp_path, theory=theory)
    model.fit(x_probe, y_probe, epochs=1, verbose=0, callbacks=[monitor])
    assert [layer.name for layer in monitor.monitored_layers] == ["stem", "left", "right", "head"]
    measured, _ = read_run(tmp_path / "measured")
    q = layer_values(measured, "q", 4)
    assert np.all(q > 0) and np.all(np.isfinite(q))
    assert 0 < measured["signal_propagation/layer_02/saturation"][0] < 1  # |h| >= 1 (ste_sign)
    named = SignalPropagationMonitor(x_probe, layers=["left", "head"], theory=None)
    named.set_model(model)
    named.measure()
    assert named.latest["measured"]["q"][0] == pytest.approx(
        monitor.latest["measured"]["q"][1], rel=1e-5
    )


def test_bad_arguments_raise_naming_the_parameter():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="probe_x has 1 example"):
        SignalPropagationMonitor(x[:1])
    with pytest.raises(ValueError, match="every_n_epochs must be an integer >= 1, got 0"):
        SignalPropagationMonitor(x, every_n_epochs=0)
    with pytest.raises(TypeError, match="every_n_steps must be an integer >= 1, got 2.5"):
        SignalPropagationMonitor(x, every_n_steps=2.5)
    with pytest.raises(TypeError, match="theory='tanh'"):
        SignalPropagationMonitor(x, theory="tanh")
    with pytest.raises(ValueError, match="probe_y"):
        SignalPropagationMonitor(x, np.zeros(3))
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    monitor = SignalPropagationMonitor(x, layers=[model.layers[0], 7])
    monitor.set_model(model)
    with pytest.raises(TypeError, match="layers entry 7"):
        monitor.measure()


def test_monitor_demo_off_critical_networks_are_too_deep_at_the_default_depth():
    from bnn_init.callbacks.cli import SETTINGS, SIGMA_B2, SIZES, R
    from bnn_init.callbacks.prediction import verdict

    assert SIZES["default"]["depth"] == SIZES["quick"]["depth"] == 20
    for name, scale in SETTINGS.items():
        theory = (
            HardTanhBNN.critical(r=R, sigma_b2=SIGMA_B2)
            if scale is None
            else HardTanhBNN(r=R, sigma_w2=scale * R**2, sigma_b2=SIGMA_B2)
        )
        line = verdict(theory, SIZES["default"]["depth"])
        expected = "signals should propagate" if name == "critical" else "too deep to train"
        assert expected in line, (name, line)
    assert 3 * SETTINGS["chaotic"] <= SIZES["quick"]["width"]  # what a uniform kernel allows


def test_monitor_demo_cli_writes_the_three_runs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli_main(["monitor-demo", "--quick", "--depth", "3", "--out", str(out)]) == 0
    for name in ("critical", "ordered", "chaotic"):
        measured, _ = read_run(out / name / "measured")
        theory, _ = read_run(out / name / "theory")
        local, _ = read_run(out / name / "theory_local")
        assert (
            "signal_propagation/layer_03/grad_var" in measured
            and "signal_propagation/layer_01/q" in theory
            and "signal_propagation/layer_02/q" in local
        )
    printed = capsys.readouterr().out
    assert "HardTanhBNN(r=1.0, sigma_w2=20.0" in printed and "tensorboard --logdir" in printed
    assert cli_main(["monitor-demo", "--depth", "1", "--out", str(out)]) == 2


def test_layout_groups_deep_models_into_blocks_of_eight_named_layers():
    from bnn_init.callbacks.summaries import layout

    names = [f"conv_{i}" for i in range(60)]
    charts = layout(60, names).category[0].chart
    assert len(charts) == 8  # 60 layers: 7 blocks of 8 and one of 4
    assert charts[0].title == "layers 01-08 (conv_0 .. conv_7)"
    assert charts[-1].multiline.tag[0] == "^signal_propagation/layer_(57|58|59|60)/q$"
    assert len(layout(16).category[0].chart) == 16  # one chart per layer up to 16
