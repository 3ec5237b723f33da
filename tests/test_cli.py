"""The ``bnn-init`` command: numbers against the theory API, exit codes, files written."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bnn_init  # noqa: F401  (first: Keras 2 routing)
from bnn_init import theory
from bnn_init.cli import main
from bnn_init.theory import ContinuousNet, HardTanhBNN, SignNet, phase_diagram

QUANTITIES = ("q_star", "c_star", "chi1", "xi_q", "xi_c", "xi_grad")


def _number(value) -> float:
    return float(value)  # "inf" (JSON has no infinity) parses too


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def assert_matches(answer: dict, model, k: float = 6.0) -> None:
    for name in QUANTITIES:
        assert _number(answer[name]) == pytest.approx(getattr(model, name), rel=1e-12), name
    expected = model.max_trainable_depth(k=k)
    assert _number(answer["max_trainable_depth"]) == pytest.approx(expected, rel=1e-12)


def test_help_everywhere(capsys):
    for argv in ([], ["critical"], ["depth-scales"], ["phase-diagram"]):
        assert main([*argv, "--help"]) == 0
        assert "usage: bnn-init" in capsys.readouterr().out


def test_critical_hard_tanh_json_matches_theory(capsys):
    code, answer = run_json(capsys, "critical", "--model", "hard_tanh", "--r", "0.4",
                            "--sigma-b2", "0.01")  # fmt: skip
    assert code == 0
    model = HardTanhBNN.critical(r=0.4, sigma_b2=0.01)
    assert answer["model"] == "HardTanhBNN" and answer["critical_parameter"] == "sigma_w2"
    assert answer["params"] == {"r": 0.4, "sigma_w2": model.sigma_w2, "sigma_b2": 0.01}
    assert answer["chi1"] == pytest.approx(1.0, abs=1e-12)
    assert answer["xi_c"] == "inf" and answer["max_trainable_depth"] == "inf"
    assert_matches(answer, model)


def test_critical_hard_tanh_at_zero_bias_is_r_squared(capsys):
    code, answer = run_json(capsys, "critical", "--model", "hard_tanh", "--r", "0.3")
    assert code == 0
    assert answer["params"]["sigma_w2"] == pytest.approx(0.09, rel=1e-12)  # erratum 1


def test_critical_continuous_text_output(capsys):
    assert main(["critical", "--model", "continuous", "--phi", "erf", "--sigma-b2", "0.05"]) == 0
    out = capsys.readouterr().out
    model = ContinuousNet.critical(phi="erf", sigma_b2=0.05)
    assert "ContinuousNet at the edge of chaos" in out
    assert f"{model.sigma_w2:.6g}" in out and f"{model.q_star:.6g}" in out
    assert "max trainable depth (6 xi_c)" in out


def test_no_critical_point_is_an_answer_with_exit_code_1(capsys):
    code, answer = run_json(capsys, "critical", "--model", "sign", "--sigma-b2", "0.1")
    assert code == 1
    assert answer["critical"] is None and answer["nearest"] == {"sigma_b2": 0.1}
    assert "chaotic" in answer["reason"]
    assert main(["critical", "--model", "lrt", "--neurons", "binary"]) == 1
    assert "no critical point" in capsys.readouterr().out


def test_depth_scales_json_matches_theory(capsys):
    argv = ["depth-scales", "--model", "hard_tanh", "--r", "1", "--sigma-w2", "2"]
    code, answer = run_json(capsys, *argv, "--sigma-b2", "0.01", "--k", "3")
    assert code == 0
    model = HardTanhBNN(r=1.0, sigma_w2=2.0, sigma_b2=0.01)
    assert_matches(answer, model, k=3.0)
    assert 1.0 < answer["chi1"] and 0.0 < answer["c_star"] < 1.0  # chaotic
    code, answer = run_json(capsys, "depth-scales", "--model", "sign")
    assert code == 0 and answer["chi1"] == "inf"
    assert_matches(answer, SignNet())


@pytest.mark.parametrize(
    "argv, words",
    [
        (["critical", "--model", "hard_tanh", "--r", "-1"], ["r", "-1", "(0, inf)"]),
        (["depth-scales", "--model", "continuous", "--sigma-w2", "0"], ["sigma_w2", "0"]),
        (["critical", "--model", "continuous", "--kappa", "1"], ["--kappa", "continuous"]),
        (["depth-scales", "--model", "lrt", "--sigma-m2", "1.5"], ["sigma_m2", "1.5"]),
        (["phase-diagram", "--model", "sign", "--out", "x"], ["weight variance"]),
        (["phase-diagram", "--model", "continuous", "--grid", "1", "--out", "x"], ["--grid"]),
        (
            ["phase-diagram", "--model", "continuous", "--sigma-b2-range", "1", "0", "--out", "x"],
            ["--sigma-b2-range", "LOW < HIGH"],
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_message(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bnn-init: error: ") and err.count("\n") == 1
    for word in words:
        assert word in err


def test_parse_errors_exit_2(capsys):
    assert main(["critical", "--model", "nope"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["critical", "--model", "hard_tanh", "--r", "abc"]) == 2


def test_phase_diagram_writes_png_and_csv_matching_theory(tmp_path, capsys):
    out = tmp_path / "sub" / "tanh"
    argv = ["phase-diagram", "--model", "continuous", "--phi", "tanh", "--grid", "7"]
    argv += ["--sigma-w2-range", "0.5", "3.5", "--sigma-b2-range", "0", "0.2", "--out", str(out)]
    assert main(argv) == 0
    png, table = out / "phase_diagram.png", out / "phase_diagram.csv"
    assert f"wrote {png.resolve()}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(table) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 49
    assert list(rows[0]) == [
        "sigma_w2", "sigma_b2", "phi", "dropout_rate", "chi1", "q_star", "c_star", "xi_c",
    ]  # fmt: skip
    pd = phase_diagram(
        ContinuousNet,
        phi="tanh",
        sigma_w2=np.linspace(0.5, 3.5, 7),
        sigma_b2=np.linspace(0, 0.2, 7),
    )
    i, j = 5, 3  # row 5 * 7 + 3 ('ij' order: sigma_w2 slowest)
    row = rows[i * 7 + j]
    assert float(row["sigma_w2"]) == pytest.approx(pd.axes["sigma_w2"][i])
    assert float(row["sigma_b2"]) == pytest.approx(pd.axes["sigma_b2"][j])
    assert row["phi"] == "tanh"
    for name in ("chi1", "q_star", "c_star", "xi_c"):
        assert float(row[name]) == pytest.approx(getattr(pd, name)[i, j], rel=1e-12)


def test_phase_diagram_figure_has_two_panels_and_checks_axis_names():
    from bnn_init.plotting import phase_diagram_figure

    pd = phase_diagram(ContinuousNet, sigma_w2=np.linspace(0.5, 3, 6), sigma_b2=[0.0, 0.1, 0.2])
    fig = phase_diagram_figure(pd, x="sigma_b2", y="sigma_w2", point={"here": (0.1, 1.0)})
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    assert panels[0].get_xlabel() == r"$\sigma_b^2$"
    assert "here" in [t.get_text() for t in panels[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="x and y must name the two axes"):
        phase_diagram_figure(pd, x="sigma_w2", y="r")


def test_installed_script_runs_without_tensorflow():
    script = Path(sys.executable).with_name("bnn-init")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    argv = [str(script), "critical", "--model", "hard_tanh", "--sigma-b2", "0.01", "--json"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["params"]["sigma_w2"] == HardTanhBNN.critical(r=1.0, sigma_b2=0.01).sigma_w2
    assert math.isinf(float(answer["xi_c"]))
    check = "import sys, bnn_init.cli; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False", result.stderr


def test_unwritable_out_is_one_line_and_a_bug_says_so(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    argv = ["phase-diagram", "--model", "continuous", "--grid", "3", "--out"]
    if os.geteuid() != 0:  # root may write anywhere
        assert main([*argv, str(locked / "new")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Permission denied" in err
    monkeypatch.setattr(theory, "phase_diagram", lambda *a, **k: 1 / 0)
    assert main([*argv, str(tmp_path / "x")]) == 3
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "this is a bug in bnn-init" in err.splitlines()[-1]


def test_phase_diagram_figure_refuses_a_mark_outside_its_grid():
    from bnn_init.plotting import phase_diagram_figure

    pd = phase_diagram(
        ContinuousNet,
        phi="tanh",
        sigma_w2=np.linspace(0.5, 1.25, 4),
        sigma_b2=np.linspace(0, 0.3, 3),
    )
    with pytest.raises(
        ValueError, match=r"'glorot' has sigma_w2 = 4, outside the computed range \[0.5, 1.25\]"
    ):
        phase_diagram_figure(pd, x="sigma_w2", y="sigma_b2", point={"glorot": (4.0, 0.0)})
