"""Every command with ``--out DIR`` refuses a file there with exit 2 and one line, before any
work and without touching the file. (The demo's end-to-end run is in test_readme_commands.py, as
the README shows it.)"""

import pytest

from bnn_init.cli import main

COMMANDS = [
    ["demo", "--quick"],
    ["phase-diagram", "--model", "continuous", "--grid", "3"],
    ["monitor-demo", "--quick"],
    ["mfb-teacher-student", "--quick"],
    ["trainability", "--quick"],
    ["reproduce", "schoenholz-gradients", "--quick"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_out_that_is_a_file_is_refused(command, tmp_path, capsys):
    taken = tmp_path / "results"
    taken.write_text("mine")
    assert main([*command, "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"--out must be a folder, but {str(taken)!r} is a file" in err
    assert taken.read_text() == "mine"


def test_out_folders_are_created_when_missing(tmp_path, capsys):
    out = tmp_path / "a" / "b"
    assert main(["phase-diagram", "--model", "continuous", "--grid", "3", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["phase_diagram.csv", "phase_diagram.png"]
    printed = capsys.readouterr().out
    assert f"wrote {(out / 'phase_diagram.png').resolve()}" in printed
