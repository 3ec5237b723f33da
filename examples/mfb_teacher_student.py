"""MFB-BackProp on Soudry & Meir's teacher-student task, then the MAP binary network in Larq.

A random binary M x M x 1 teacher labels random +-1 inputs; MFBNetwork learns the posterior of
every binary weight online (Algorithm 1 of Soudry & Meir (2013)), and its deterministic (MAP, W = sign(h)) and
probabilistic (PMFB) predictions are scored on fresh samples from the same teacher:

    python examples/mfb_teacher_student.py [--quick]
"""

import argparse

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)
from bnn_init.datasets import teacher_student
from bnn_init.training import MFBNetwork


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples (for tests)")
    parser.add_argument("--size", type=int, default=21, help="teacher size M (odd)")
    args = parser.parse_args()
    samples = 5_000 if args.quick else 100_000
    x, y = teacher_student(args.size, samples, seed=1, teacher_seed=0)
    x_test, y_test = teacher_student(args.size, 10_000, seed=2, teacher_seed=0)
    net = MFBNetwork(args.size, args.size, 1, seed=0)  # M x (M x 1) x 1, as the teacher
    net.fit(x, y, epochs=1, verbose=0)
    errors = net.evaluate(x_test, y_test)
    print(
        f"M = {args.size}, {samples} samples: test error MFB {100 * errors['error']:.2f} %, "
        f"PMFB {100 * errors['pmfb_error']:.2f} %"
    )
    model = net.to_keras()
    print(
        f"MAP binary network as a Larq model: {len(model.layers)} layers, "
        f"{model.count_params()} binary weights"
    )


if __name__ == "__main__":
    main()
