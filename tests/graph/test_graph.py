"""The graph adapter: walking Keras graphs, the registry's maps against Monte Carlo, independence
of residual branches, and BatchNorm probed with batch statistics."""

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bnn_init  # noqa: F401  (sets up tf-keras)
from bnn_init.callbacks import SignalPropagationMonitor
from bnn_init.graph import GraphTheory, NodeMap, Unmapped, walk
from bnn_init.graph.measure import (
    moments_from,
    pair_correlation_from,
    recording,
    tensor_moments,
)


def _measure(model, theory, x):
    recorded = {}
    with recording(theory.graph, theory.maps, recorded, inputs=x):
        model(x, training=False)
    return moments_from({k: v.numpy() for k, v in recorded.items()})


def test_walk_expands_nested_models_and_tf_ops():
    inner_in = tf.keras.Input((4,))
    inner = tf.keras.Model(inner_in, tf.keras.layers.Dense(4, name="inner_dense")(inner_in))
    inputs = tf.keras.Input((4,))
    x = tf.keras.layers.Dense(4, name="outer_dense")(inputs)
    y = inner(x) + x
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="head")(y))
    graph = walk(model)
    assert [n.name for n in graph.nodes] == [
        "outer_dense",
        "inner_dense",
        "tf.__operators__.add",
        "head",
    ]
    add = graph.nodes[2]
    assert set(add.inputs) == {graph.nodes[0].outputs[0], graph.nodes[1].outputs[0]}
    sequential = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    assert len(walk(sequential).nodes) == 1


def test_sums_are_mapped_only_for_independent_branches():
    inputs = tf.keras.Input((8,))
    independent = tf.keras.layers.Add()([inputs, tf.keras.layers.Dense(8)(inputs)])
    dependent = tf.keras.layers.Add()([independent, tf.keras.layers.ReLU()(independent)])
    theory = GraphTheory(tf.keras.Model(inputs, dependent))
    kinds = {n.name: m for n, m in zip(theory.graph.nodes, theory.maps, strict=True)}
    assert isinstance(kinds["add"], NodeMap)
    assert isinstance(kinds["add_1"], Unmapped) and "not independent" in kinds["add_1"].reason


@pytest.mark.parametrize("pad_values", [0.0, 1.0])
def test_binary_convolution_with_same_padding_matches_monte_carlo(pad_values):
    """Border positions see fewer inputs (zero padding) or ones (Larq's pad_values=1)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 6, 32)).astype(np.float32)
    predicted, measured = [], []
    for seed in range(4):  # Monte Carlo over kernels
        tf.keras.utils.set_random_seed(seed)
        inputs = tf.keras.Input((6, 6, 32))
        outputs = lq.layers.QuantConv2D(
            64,
            3,
            padding="same",
            pad_values=pad_values,
            input_quantizer="ste_sign",
            kernel_quantizer="ste_sign",
        )(inputs)
        model = tf.keras.Model(inputs, outputs)
        theory = GraphTheory(model)
        moments = _measure(model, theory, x)
        out = theory.graph.nodes[0].outputs[0]
        predicted.append(theory.local(moments)[0].q)
        measured.append(moments[out].q)
    fan_in = 9 * 32
    coverage = (16 / 18) ** 2  # 6 positions per axis: the 2 border ones see 2 of 3 taps
    expected = fan_in if pad_values else fan_in * coverage
    assert np.mean(predicted) == pytest.approx(expected, rel=0.01)  # sign's channel means ~ 0
    assert np.mean(measured) == pytest.approx(np.mean(predicted), rel=0.03)


def test_float_convolution_with_strides_and_relu_matches_monte_carlo():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 9, 9, 16)).astype(np.float32)
    ratios, correlations = [], []
    for seed in range(3):
        tf.keras.utils.set_random_seed(seed)
        inputs = tf.keras.Input((9, 9, 16))
        y = tf.keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu")(inputs)
        y = tf.keras.layers.BatchNormalization()(y)
        model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(128, 3, padding="same")(y))
        theory = GraphTheory(model)
        moments = _measure(model, theory, x)
        local = theory.local(moments)
        for index, node in enumerate(theory.graph.nodes):
            key = node.outputs[0] if theory.maps[index].activation is None else None
            if key is None:
                key = (node.outputs[0], "pre")
            ratios.append(local[index].q / moments[key].q)
            correlations.append(local[index].c - moments[key].c)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.03)
    assert np.max(np.abs(correlations)) < 0.05


_POOLS = {
    "max 3x3 stride 2 same": lambda x: tf.keras.layers.MaxPooling2D(3, 2, padding="same")(x),
    "max of relu": lambda x: tf.keras.layers.MaxPooling2D(3, 2, padding="same")(
        tf.keras.layers.Activation("relu")(x)
    ),
    "average 3x3 stride 2 same": lambda x: tf.keras.layers.AveragePooling2D(3, 2, "same")(x),
    "average 2x2": lambda x: tf.keras.layers.AveragePooling2D(2)(x),
    "global max": lambda x: tf.keras.layers.GlobalMaxPooling2D()(x),
    "max 2x2 of hard tanh": lambda x: tf.keras.layers.MaxPooling2D(2)(
        tf.keras.layers.Activation("hard_tanh")(x)
    ),
    "global average": lambda x: tf.keras.layers.GlobalAveragePooling2D()(x),
}


def _correlated_pairs(shape, rho, seed):
    """A probe batch whose second half is correlated rho with its first half, unit by unit."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal(shape)
    return np.concatenate([a, b]).astype(np.float32)


@pytest.mark.parametrize("pool", list(_POOLS))
def test_pooling_after_a_sign_input_convolution_matches_monte_carlo(pool):
    """Keras pooling (border windows of 'same' padding are smaller) on BatchNorm'd convolutions
    of sign inputs with a mean, forward and backward. The convolution pads nothing (with 'same'
    padding its border positions have a smaller variance, which the per-channel moments average
    over all positions, and a 2x2 pool of 9x9 leaves out one border row) and its kernel is float
    (binary kernels on binary inputs give integer sums, whose ties share max pooling's gradient)."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((11, 11, 32))
    x = lq.layers.QuantConv2D(128, 3, input_quantizer="ste_sign")(inputs)
    x = tf.keras.layers.BatchNormalization(beta_initializer=tf.keras.initializers.Constant(0.5))(x)
    model = tf.keras.Model(inputs, _POOLS[pool](x))
    theory = GraphTheory(model)
    probe = _correlated_pairs((64, 11, 11, 32), rho=0.7, seed=3)
    recorded, tensors = {}, {}
    with tf.GradientTape() as tape:
        with recording(theory.graph, theory.maps, recorded, tensors=tensors, inputs=probe):
            out = model(probe, training=False)
        target = tf.random.stateless_normal(tf.shape(out), seed=(0, 1))
        loss = tf.reduce_sum(out * target)  # E[delta^2] = 1 at the output
    moments = moments_from({k: v.numpy() for k, v in recorded.items()})
    pooled = theory.graph.outputs[0]
    local = theory.local(moments)[len(theory.graph.nodes) - 1]
    assert local.mean == pytest.approx(moments[pooled].mean, abs=0.02)
    assert local.q == pytest.approx(moments[pooled].q, rel=0.03)
    assert local.c == pytest.approx(moments[pooled].c, abs=0.02)
    normalised = theory.graph.nodes[1].outputs[0]
    grads = tape.gradient(loss, [tensors[normalised], tensors[pooled]])
    into, out = (np.mean(g.numpy() ** 2, axis=tuple(range(g.ndim - 1))) for g in grads)
    predicted = theory.backward(moments, {pooled: out})[normalised]
    assert np.mean(predicted) == pytest.approx(np.mean(into), rel=0.03)


def _dense_batchnorm_binary(moving_mean, moving_variance):
    """Dense(256) -> BatchNorm with the given moving statistics -> binary QuantDense(256)."""
    inputs = tf.keras.Input((16,))
    x = tf.keras.layers.Dense(256, name="first")(inputs)
    bn = tf.keras.layers.BatchNormalization()
    x = bn(x)
    outputs = lq.layers.QuantDense(256, input_quantizer="ste_sign", name="binary")(x)
    model = tf.keras.Model(inputs, outputs)
    bn.set_weights(
        [np.ones(256), np.zeros(256), np.full(256, moving_mean), np.full(256, moving_variance)]
    )
    return model


def test_monitor_probes_batchnorm_with_batch_statistics_and_changes_nothing(tmp_path):
    model = _dense_batchnorm_binary(moving_mean=3.0, moving_variance=100.0)
    before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(2)
    probe = rng.standard_normal((128, 16)).astype(np.float32)
    monitor = SignalPropagationMonitor(probe, log_dir=tmp_path)
    monitor.set_model(model)
    monitor.measure()
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    # the moving statistics (mean 3, variance 100) would leave sign(x) = -1 almost everywhere;
    # batch statistics centre x, so the binary layer sees c near the input's correlation
    local, measured = monitor.latest["local"], monitor.latest["measured"]
    assert local["q"][1] == pytest.approx(measured["q"][1], rel=0.1)
    assert abs(local["c"][1] - measured["c"][1]) < 0.05
    assert measured["c"][1] < 0.5


class Custom(tf.keras.layers.Layer):
    """A user's own layer, unknown to bnn-init."""

    def call(self, inputs):
        return 2.0 * inputs


def test_unknown_layer_reanchors_the_chain_and_training_goes_on(tmp_path, capsys):
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((32,))
    x = tf.keras.layers.Dense(64, activation="tanh")(inputs)
    x = Custom(name="custom")(x)
    outputs = tf.keras.layers.Dense(64)(x)
    model = tf.keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x_train = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    monitor = SignalPropagationMonitor(x_train, np.zeros((64, 64)), log_dir=tmp_path)
    history = model.fit(x_train, np.zeros((64, 64)), epochs=1, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 1
    printed = capsys.readouterr().out
    assert "no map for a Custom layer (e.g. custom)" in printed
    chained = monitor.latest["chained"]
    assert np.all(np.isfinite(chained["q"]))  # the second Dense re-anchors after the custom layer


def test_moments_of_a_tensor():
    x = np.arange(8, dtype=np.float32).reshape(4, 2)  # pairs: rows 0-1 with rows 2-3
    values = tensor_moments(tf.constant(x)).numpy()
    moments = moments_from({"x": values})["x"]
    np.testing.assert_allclose(moments.channel_mean, x.mean(0))
    np.testing.assert_allclose(moments.channel_q, np.mean(x**2, 0))
    np.testing.assert_allclose(moments.channel_pair, np.mean(x[:2] * x[2:], 0))
    assert moments.batch == pytest.approx(np.mean(x.mean(0) ** 2))
    assert pair_correlation_from(values) == pytest.approx(
        np.mean(x[:2] * x[2:]) / np.sqrt(np.mean(x[:2] ** 2) * np.mean(x[2:] ** 2))
    )


def test_gradient_variances_through_a_residual_binary_block():
    """E[delta^2] back through sign (straight through), BatchNorm and a residual sum, per
    channel, against the gradients TensorFlow computes."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((8, 8, 64))
    x = tf.keras.layers.BatchNormalization()(inputs)
    y = lq.layers.QuantConv2D(
        64, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign"
    )(x)
    y = tf.keras.layers.BatchNormalization()(y)
    outputs = tf.keras.layers.Add()([x, y])
    model = tf.keras.Model(inputs, outputs)
    theory = GraphTheory(model)
    rng = np.random.default_rng(4)
    probe = rng.standard_normal((128, 8, 8, 64)).astype(np.float32)
    target = rng.standard_normal((128, 8, 8, 64)).astype(np.float32)
    recorded, tensors = {}, {}
    with tf.GradientTape() as tape:
        with recording(theory.graph, theory.maps, recorded, tensors=tensors, inputs=probe):
            out = model(probe, training=False)
        loss = tf.reduce_sum(out * target)  # delta at the output = target: E[delta^2] = 1
    keys = list(tensors)
    grads = tape.gradient(loss, [tensors[k] for k in keys])
    measured_delta = {
        k: np.mean(g.numpy() ** 2, axis=(0, 1, 2)) for k, g in zip(keys, grads, strict=True)
    }
    moments = moments_from({k: v.numpy() for k, v in recorded.items()})
    output = theory.graph.outputs[0]
    result = theory.backward(moments, {output: measured_delta[output]})
    first_bn = theory.graph.nodes[0].outputs[0]  # read by the sum and by the binary branch
    assert np.mean(result[first_bn]) == pytest.approx(np.mean(measured_delta[first_bn]), rel=0.05)


def test_describe_reports_every_weight_layer_with_measured_local_and_chained_values():
    from bnn_init.graph import describe

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((8, 8, 3))
    x = tf.keras.layers.Conv2D(64, 3, padding="same", name="stem")(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    for _ in range(3):
        y = lq.layers.QuantConv2D(
            64, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign"
        )(x)
        x = tf.keras.layers.Add()([x, tf.keras.layers.BatchNormalization()(y)])
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10, name="head")(x))
    probe = np.random.default_rng(5).standard_normal((128, 8, 8, 3)).astype(np.float32)
    description = describe(model, probe)
    assert [row.name for row in description.layers][0] == "stem"
    assert len(description.layers) == 5 and description.mapped_weight_share == 1.0
    for row in description.layers:
        assert row.local_q == pytest.approx(row.measured_q, rel=0.1)
        assert row.chained_q == pytest.approx(row.measured_q, rel=0.1)
    for row in description.layers[:-1]:  # the 10-unit head's c fluctuates by ~0.05 (width 10)
        assert abs(row.chained_c - row.measured_c) < 0.05
    assert description.reanchored == ()
    assert "graph theory maps 100% of 5 weight layers" in str(description)
    with pytest.raises(ValueError, match="x has 1 example"):
        describe(model, probe[:1])
    default = describe(model)  # 128 standard-normal inputs of the model's input shape
    assert default.layers[0].measured_q == pytest.approx(description.layers[0].measured_q, rel=0.1)
    sequences = tf.keras.Input((None, 3))  # any length: no default probe
    with pytest.raises(ValueError, match="inputs of unknown size"):
        describe(tf.keras.Model(sequences, tf.keras.layers.Dense(2)(sequences)))


def test_describe_with_moving_statistics_follows_inference_mode_batchnorm():
    from bnn_init.graph import describe

    tf.keras.utils.set_random_seed(0)
    model = _dense_batchnorm_binary(moving_mean=0.5, moving_variance=4.0)
    probe = np.random.default_rng(2).standard_normal((128, 16)).astype(np.float32)
    moving = describe(model, probe, batch_statistics=False).layers[1]
    batch = describe(model, probe).layers[1]
    for row in (moving, batch):
        assert row.local_q == pytest.approx(row.measured_q, rel=0.1)
        assert abs(row.local_c - row.measured_c) < 0.05
    assert moving.measured_c > batch.measured_c + 0.05  # the moving mean shifts every input alike


def test_squeeze_excite_reshape_keeps_channels_and_is_mapped():
    """GAP -> Reshape((1, 1, C)) -> scale (RealToBinaryNet's squeeze-excite) is mapped end to end;
    a reshape that mixes channels is not."""
    inputs = tf.keras.Input((4, 4, 8))
    gate = tf.keras.layers.GlobalAveragePooling2D()(inputs)
    gate = tf.keras.layers.Dense(8, activation="sigmoid")(gate)
    gate = tf.keras.layers.Reshape((1, 1, 8), name="to_gate")(gate)
    scaled = tf.keras.layers.Multiply()([inputs, gate])
    mixed = tf.keras.layers.Reshape((2, 2, 32), name="mixing")(scaled)
    theory = GraphTheory(tf.keras.Model(inputs, mixed))
    assert [name for name, _ in theory.unmapped()] == ["mixing"]
    assert "mixes channels" in theory.unmapped()[0][1]
