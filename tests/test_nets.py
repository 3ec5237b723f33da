"""bnn_init.nets: each builder's Keras model is described by the theory it returns (the same
family and parameters that `theory.describe` reads off the model), every layer draws its own
weights, and measured signal statistics at initialisation follow that theory."""

import numpy as np
import pytest

from bnn_init import nets, theory

BUILDS = {
    "hard_tanh_critical": lambda: nets.hard_tanh_mlp(6, 64, 20, 10, r=0.5),
    "hard_tanh_uniform": lambda: nets.hard_tanh_mlp(
        6, 64, 20, 10, r=0.5, sigma_w2=2.0, sigma_b2=0.01, kernel="uniform"
    ),
    "hard_tanh_normal": lambda: nets.hard_tanh_mlp(6, 64, 20, 10, sigma_w2=0.5, weight_clip=True),
    "tanh": lambda: nets.tanh_mlp(6, 64, 20, 10, sigma_w2=1.5, sigma_b2=0.05),
    "tanh_dropout": lambda: nets.tanh_mlp(
        6, 64, 20, 10, sigma_w2=1.5, sigma_b2=0.05, dropout_rate=0.1
    ),
    "deterministic": lambda: nets.surrogate_mlp("deterministic", 6, 64, 20, 10, sigma_m2=0.5),
    "lrt": lambda: nets.surrogate_mlp("lrt", 6, 64, 20, 10, sigma_m2=0.9, sigma_b2=0.01),
}


@pytest.mark.parametrize("name", BUILDS)
def test_the_returned_theory_is_the_one_describe_reads(name):
    net = BUILDS[name]()
    described = theory.describe(net.model).theory
    assert type(described) is type(net.theory)
    assert repr(described) == repr(net.theory)
    kernels = [w.numpy() for w in net.model.weights if w.name.endswith("kernel:0")]
    assert len(kernels) == 6 and not np.array_equal(kernels[1], kernels[2])  # own draws


def test_wide_critical_hard_tanh_net_follows_its_theory():
    net = nets.hard_tanh_mlp(8, 1024, 256, 10, r=0.5, sigma_b2=0.01, seed=3)
    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    q_measured = []
    h = x
    for layer in net.model.layers:
        pre = layer(h).numpy()
        q_measured.append(float(np.mean(pre**2)))
        h = pre
    predicted = net.theory.trajectory(q_measured[0], 0.0, depth=7).q
    np.testing.assert_allclose(q_measured[1:7], predicted[1:7], rtol=0.05)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: nets.hard_tanh_mlp(1, 8, 4, 2), "depth must be an integer >= 2, got 1"),
        (lambda: nets.hard_tanh_mlp(3, 8, 4, 2, kernel="laplace"), "kernel must be one of"),
        (lambda: nets.surrogate_mlp("gibbs", 3, 8, 4, 2), "kind must be one of"),
        (
            lambda: nets.tanh_mlp(3, 0, 4, 2, sigma_w2=1.0, sigma_b2=0.0),
            "width must be an integer >= 1",
        ),
    ],
)
def test_bad_arguments_name_the_parameter(build, message):
    with pytest.raises(ValueError, match=message):
        build()
