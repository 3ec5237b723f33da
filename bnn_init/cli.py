"""The ``bnn-init`` command: critical initialisation, depth scales and phase diagrams.

    bnn-init critical --model hard_tanh --r 0.4 --sigma-b2 0.01
    bnn-init depth-scales --model continuous --phi tanh --sigma-w2 1.5 --sigma-b2 0.05 --json
    bnn-init phase-diagram --model continuous --grid 100 --out runs/tanh
    bnn-init demo

``--out DIR`` is a folder for every command (`bnn_init.cli_support`). Exit status: 0 on success,
1 when the requested model has no critical point (an answer, printed like any other), 2 on bad
input or a refused operation (a one-line ``bnn-init: error: ...`` message, also for files that
cannot be read or written), 3 on an internal error (a bug: the traceback is shown, with a line
that says so). Commands that load TensorFlow do so without its native start-up lines
(`bnn_init.quiet`); ``--verbose`` keeps them.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import sys
import traceback
from pathlib import Path

import numpy as np

from bnn_init import theory
from bnn_init.cli_support import add_out_option, announce, output_folder
from bnn_init.primitives import write_csv
from bnn_init.quiet import import_tensorflow_quietly
from bnn_init.theory.activations import ACTIVATIONS

__all__ = ["main"]

# --model choice -> theory class name.
MODELS = {
    "continuous": "ContinuousNet",
    "hard_tanh": "HardTanhBNN",
    "deterministic": "DeterministicSurrogate",
    "lrt": "LRTSurrogate",
    "sign": "SignNet",
}
# Default phase-diagram ranges (weight variances are multiplied by r^2 for hard_tanh).
_RANGES = {"sigma_w2": (0.1, 4.0), "sigma_m2": (0.05, 1.0), "sigma_b2": (0.0, 0.3)}
_QUANTITIES = ("q_star", "c_star", "chi1", "xi_q", "xi_c", "xi_grad")


class UsageError(ValueError):
    """Bad command-line input that the parser itself cannot see (an option the model lacks)."""


# ---------------------------------------------------------------- models and their parameters


def _model_class(name: str):
    return getattr(theory, MODELS[name])


def _parameters(function) -> dict:
    """Parameter name -> default of a model class (its constructor) or of ``critical``."""
    return {
        p.name: p.default
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _weight_scale(cls) -> str | None:
    """The weight-scale parameter (sigma_w2 or sigma_m2) that ``critical`` solves, if any."""
    return cls.scale_parameter if cls.scale_parameter in _parameters(cls) else None


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _given(args, names) -> dict:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _check_options(args, allowed, model: str) -> None:
    """UsageError for a model option that was given but that the model does not take."""
    extra = [n for n in _given(args, _MODEL_OPTIONS) if n not in allowed]
    if extra:
        takes = ", ".join(_option(n) for n in allowed) or "no parameters"
        raise UsageError(
            f"{_option(extra[0])} does not apply to --model {model} (it takes {takes})"
        )


def _values(model, k: float) -> dict:
    """The model's parameters, fixed point, chi_1, depth scales and maximum trainable depth."""
    out = {"model": type(model).__name__}
    out["params"] = {name: getattr(model, name) for name in _parameters(type(model))}
    out.update({name: getattr(model, name) for name in _QUANTITIES})
    out["k"] = k
    out["max_trainable_depth"] = model.max_trainable_depth(k=k)
    return out


# ---------------------------------------------------------------- output


def _jsonable(value):
    """JSON has no inf/nan: non-finite floats become the strings "inf", "-inf", "nan"."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    return value


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def _print_values(values: dict, header: str) -> None:
    print(header)
    rows = [(name, _fmt(v)) for name, v in values["params"].items()]
    rows += [
        ("q*", _fmt(values["q_star"])),
        ("c*", _fmt(values["c_star"])),
        ("chi_1", _fmt(values["chi1"])),
        ("xi_q", _fmt(values["xi_q"])),
        ("xi_c", _fmt(values["xi_c"])),
        ("xi_grad", _fmt(values["xi_grad"])),
        (f"max trainable depth ({values['k']:g} xi_c)", _fmt(values["max_trainable_depth"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def _emit(args, values: dict, header: str) -> None:
    if args.json:
        print(json.dumps(_jsonable(values), allow_nan=False))
    else:
        _print_values(values, header)


# ---------------------------------------------------------------- subcommands


def cmd_critical(args) -> int:
    """``critical``: the model at chi_1 = 1 with the other parameters fixed."""
    cls = _model_class(args.model)
    fixed = list(_parameters(cls.critical))
    _check_options(args, fixed, args.model)
    try:
        model = cls.critical(**_given(args, fixed))
    except theory.NoCriticalPoint as error:
        if args.json:
            answer = {"model": cls.__name__, "critical": None, "reason": str(error)}
            answer["nearest"] = error.nearest
            print(json.dumps(_jsonable(answer), allow_nan=False))
        else:
            print(f"{cls.__name__} has no critical point: {error}")
        return 1
    values = _values(model, args.k)
    values["critical_parameter"] = _weight_scale(cls)
    header = f"{cls.__name__} at the edge of chaos (chi_1 = 1), solving {_weight_scale(cls)}:"
    _emit(args, values, header)
    return 0


def cmd_depth_scales(args) -> int:
    """``depth-scales``: fixed point, chi_1 and depth scales at given parameters."""
    cls = _model_class(args.model)
    params = _parameters(cls)
    _check_options(args, params, args.model)
    model = cls(**_given(args, params))
    _emit(args, _values(model, args.k), f"{cls.__name__}:")
    return 0


def _grid_axes(args, cls) -> tuple[dict, dict]:
    """(axes, fixed): the two variance axes of the phase diagram and the other parameters (as
    given, else the model's defaults)."""
    params = _parameters(cls)
    if _weight_scale(cls) is None:
        raise UsageError(f"phase-diagram needs a weight variance; --model {args.model} has none")
    names = [_weight_scale(cls), "sigma_b2"]
    for name in _RANGES:
        if name not in names and getattr(args, f"{name}_range") is not None:
            raise UsageError(f"{_option(name)}-range does not apply to --model {args.model}")
    fixed = {n: default for n, default in params.items() if n not in names}
    _check_options(args, fixed, args.model)
    fixed.update(_given(args, fixed))
    scale = fixed.get("r", 1.0) ** 2 if names[0] == "sigma_w2" else 1.0
    axes = {}
    for name in names:
        given = getattr(args, f"{name}_range")
        low, high = given if given is not None else _RANGES[name]
        if given is None and name != "sigma_b2":
            low, high = low * scale, high * scale
        if not low < high:
            raise UsageError(f"{_option(name)}-range must be LOW HIGH with LOW < HIGH, got {given}")
        axes[name] = np.linspace(low, high, args.grid)
    return axes, fixed


def write_phase_diagram_csv(pd, path: Path, fixed: dict) -> None:
    """One row per grid point: the axis values, the fixed parameters, chi1, q_star, c_star, xi_c."""
    rows = [{**dict(list(row.items())[: len(pd.axes)]), **fixed, **row} for row in pd.rows()]
    write_csv(rows, path)


def _phase_diagram_files(cls, axes: dict, fixed: dict, out: Path) -> tuple:
    """Compute the phase diagram and write OUT/phase_diagram.png and .csv; return their paths."""
    from bnn_init.plotting import phase_diagram_figure

    pd = theory.phase_diagram(cls, **fixed, **axes)
    out = output_folder(out)
    png, table = out / "phase_diagram.png", out / "phase_diagram.csv"
    x, y = axes
    title = cls.__name__ + "".join(f", {k}={v}" for k, v in fixed.items())
    phase_diagram_figure(pd, x=x, y=y, title=title).savefig(png, dpi=120)
    write_phase_diagram_csv(pd, table, fixed)
    return png, table


def cmd_phase_diagram(args) -> int:
    """``phase-diagram``: chi_1 and xi_c over a grid of the two variances, as PNG and CSV."""
    cls = _model_class(args.model)
    axes, fixed = _grid_axes(args, cls)
    announce(_phase_diagram_files(cls, axes, fixed, args.out))
    return 0


# ---------------------------------------------------------------- parser

# Model options: dest -> (type, metavar or choices, help).
_MODEL_OPTIONS = {
    "phi": (str, tuple(ACTIVATIONS), "activation of --model continuous"),
    "r": (float, "R", "half-width of the linear region of B_r (hard_tanh)"),
    "sigma_w2": (float, "S", "weight variance (times 1/fan_in; times r^2 for hard_tanh)"),
    "sigma_m2": (float, "S", "second moment of the weight means (surrogates)"),
    "sigma_b2": (float, "S", "bias variance"),
    "kappa": (float, "K", "slope of phi(h) = erf(kappa h) (deterministic)"),
    "neurons": (str, ("binary", "continuous"), "neuron type of --model lrt"),
    "dropout_rate": (float, "D", "dropout rate = 1 - keep probability (continuous)"),
    "ste_clip": (float, "C", "straight-through gradient clip of ste_sign (sign)"),
}


def _add_model_options(parser, exclude=()) -> None:
    parser.add_argument("--model", required=True, choices=list(MODELS), help="theory model")
    for dest, (kind, spec, text) in _MODEL_OPTIONS.items():
        if dest in exclude:
            continue
        choices = spec if isinstance(spec, tuple) else None
        metavar = None if choices else spec
        parser.add_argument(
            _option(dest), dest=dest, type=kind, choices=choices, metavar=metavar, help=text
        )


def _add_output_options(parser) -> None:
    parser.add_argument("--k", type=float, default=6.0, help="trainable depth = k xi_c (6)")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object (infinite values as the string "inf")',
    )


def build_parser(argv=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bnn-init",
        description="Mean-field theory of (binary) neural networks: critical initialisation, "
        "depth scales and phase diagrams.",
        epilog="exit status: 0 ok, 1 no critical point, 2 bad input or refused operation, 3 "
        "internal error (a bug). --out DIR is always a folder, created when missing. --verbose "
        "(anywhere): keep TensorFlow's native start-up and device lines",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("critical", help="parameters at the edge of chaos (chi_1 = 1)")
    _add_model_options(p, exclude=("sigma_w2", "sigma_m2"))
    _add_output_options(p)
    p.set_defaults(func=cmd_critical)

    p = sub.add_parser("depth-scales", help="xi_q, xi_c, xi_grad, trainable depth at parameters")
    _add_model_options(p)
    _add_output_options(p)
    p.set_defaults(func=cmd_depth_scales)

    p = sub.add_parser("phase-diagram", help="chi_1 and xi_c over a grid, as PNG and CSV")
    _add_model_options(p, exclude=("sigma_w2", "sigma_m2", "sigma_b2"))
    p.add_argument("--grid", type=int, default=101, help="points per axis (101)")
    for name, (low, high) in _RANGES.items():
        p.add_argument(
            f"{_option(name)}-range",
            dest=f"{name}_range",
            type=float,
            nargs=2,
            metavar=("LOW", "HIGH"),
            help=f"range of {name} (default {low:g} {high:g}"
            + (", times r^2 for hard_tanh)" if name == "sigma_w2" else ")"),
        )
    add_out_option(p, "runs/phase-diagram")  # writes phase_diagram.png and .csv there
    p.set_defaults(func=cmd_phase_diagram)

    requested = argv[0] if argv else None
    for command, (module, summary) in PLUGIN_COMMANDS.items():
        if command == requested:  # TensorFlow is imported only for the command that needs it
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(command, help=summary)
    return parser


# Sub-commands defined next to the code they run; each module offers add_parser(subparsers).
PLUGIN_COMMANDS = {
    "reproduce": (
        "bnn_init.experiments.cli",
        "rerun a paper's trainability experiment (Schoenholz, Wang, Sari, Stamatescu, Soudry)",
    ),
    "demo": (
        "bnn_init.demo",
        "the whole story: theory picks the init, training, monitor, LCE export",
    ),
    "mfb-teacher-student": (
        "bnn_init.training.cli",
        "MFB-BackProp vs BackProp on the teacher-student task (Soudry & Meir Fig. 2A)",
    ),
    "export": ("bnn_init.export.cli", "export a trained BNN to a bitpacked LCE flatbuffer"),
    "trainability": (
        "bnn_init.experiments.trainability",
        "train surrogate MLPs over depth x sigma_m2 against xi_c (Stamatescu Fig. 2)",
    ),
    "monitor-demo": (
        "bnn_init.callbacks.cli",
        "TensorBoard logs of a deep hard-tanh BNN at and away from criticality",
    ),
}


def main(argv=None) -> int:
    """Run ``bnn-init`` with ``argv`` (default: sys.argv[1:]); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in argv  # TensorFlow's native start-up lines too
    argv = [arg for arg in argv if arg != "--verbose"]
    if argv and argv[0] in PLUGIN_COMMANDS and not verbose:
        import_tensorflow_quietly()
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a parse error (2), already printed
        return int(exit_.code or 0)
    if getattr(args, "grid", 2) < 2:
        return _bad_input(f"--grid must be an integer >= 2, got {args.grid}")
    try:
        return args.func(args)
    except ValueError as error:
        return _bad_input(str(error))
    except OSError as error:  # a file or folder the user named cannot be read or written
        where = f" {error.filename!r}" if error.filename else ""
        return _bad_input(f"cannot use{where}: {error.strerror or error}")
    except Exception:  # noqa: BLE001 (anything else is our bug: say so, with the evidence)
        traceback.print_exc()
        print(
            "bnn-init: internal error: this is a bug in bnn-init, not a problem with your input; "
            "please report it with the traceback above",
            file=sys.stderr,
        )
        return 3


def _bad_input(message: str) -> int:
    print(f"bnn-init: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
