"""``bnn-init monitor-demo``: a ready-to-open TensorBoard log directory of a deep hard-tanh BNN
trained on scikit-learn's digits at the edge of chaos and away from it.

    bnn-init monitor-demo --out runs/monitor-demo
    tensorboard --logdir runs/monitor-demo

Three Larq MLPs with ``HardTanh(r=1)`` quantizers and ``HardTanhUniform`` kernels differ only in
the weight variance: critical (chi_1 = 1, xi_c infinite), ordered (sigma_w2 = 0.25 r^2: chi_1 =
0.25, xi_c = 0.72) and chaotic (sigma_w2 = 20 r^2: chi_1 = 3.8, xi_c = 3.0; a uniform kernel
needs fan_in >= 3 sigma_w2, so the quick width 64 allows at most 21) (Wang (2018), sec. 3;
Schoenholz et al. (2017), sec. 5). Both off-critical networks are deeper than 6 xi_c (4.3 and
17.9) at depth 20, so the monitor's verdict calls them too deep to train. Each writes the runs ``NAME/measured``, ``NAME/theory`` and ``NAME/theory_local``.
"""

from __future__ import annotations

import argparse

from bnn_init.cli_support import (
    add_out_option,
    add_size_option,
    announce,
    output_folder,
    plain_help,
)
from bnn_init.primitives import pick_size

COMMAND = "monitor-demo"
#: run name -> sigma_w2 / r^2 (None: critical)
SETTINGS = {"critical": None, "ordered": 0.25, "chaotic": 20.0}
R, SIGMA_B2 = 1.0, 0.01
SIZES = {
    "quick": dict(depth=20, width=64, epochs=1, every_n_steps=10),
    "default": dict(depth=20, width=256, epochs=5, every_n_steps=5),
}


def add_parser(subparsers):
    """Register ``monitor-demo`` on an argparse ``subparsers`` object; ``args.func(args)`` runs it
    and returns the exit status 0."""
    parser = subparsers.add_parser(
        COMMAND,
        help="TensorBoard logs of a deep hard-tanh BNN at and away from criticality",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_out_option(parser, "runs/monitor-demo")
    parser.add_argument("--depth", type=int, default=None, help="layers (20)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (5; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    add_size_option(parser, SIZES)
    parser.set_defaults(func=run)
    return parser


def _model(depth, width, sigma_w2, seed, inputs, classes):
    import tensorflow as tf

    from bnn_init import nets

    net = nets.hard_tanh_mlp(
        depth,
        width,
        inputs,
        classes,
        r=R,
        sigma_w2=sigma_w2,
        sigma_b2=SIGMA_B2,
        kernel="uniform",
        seed=seed,
    )
    net.model.compile(
        tf.keras.optimizers.Adam(1e-3),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return net.model


def run(args):
    """Train the three networks and write their logs under ``args.out``; returns 0."""
    import tensorflow as tf

    from bnn_init.callbacks import SignalPropagationMonitor
    from bnn_init.datasets import load_digits

    settings = pick_size(SIZES, args.size, {"depth": args.depth, "epochs": args.epochs})
    for name, low in (("depth", 2), ("epochs", 1)):
        if settings[name] < low:
            raise ValueError(
                f"--{name}={settings[name]} is not allowed: it must be an integer >= {low}"
            )
    output_folder(args.out)
    (x_train, y_train), (x_test, y_test) = load_digits(seed=args.seed)
    for name, scale in SETTINGS.items():
        tf.keras.utils.set_random_seed(args.seed)
        sigma_w2 = None if scale is None else scale * R**2
        model = _model(
            settings["depth"], settings["width"], sigma_w2, args.seed, x_train.shape[1], 10
        )
        monitor = SignalPropagationMonitor(
            x_test[:128],
            y_test[:128],
            log_dir=args.out / name,
            every_n_steps=settings["every_n_steps"],
        )
        print(f"{name}:")
        history = model.fit(
            x_train,
            y_train,
            batch_size=64,
            epochs=settings["epochs"],
            callbacks=[monitor],
            verbose=0,
        )
        print(
            f"  accuracy {history.history['accuracy'][-1]:.3f}, "
            f"c^L = {monitor.history['sp_c_last'][-1]:.3f}, "
            f"E[delta_1^2] / E[delta_L^2] = {monitor.history['sp_grad_ratio'][-1]:.3g}"
        )
    announce(args.out / name for name in SETTINGS)
    print(f"open them with: tensorboard --logdir {args.out.resolve()}")
    return 0
