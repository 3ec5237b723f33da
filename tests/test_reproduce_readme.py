"""``make reproduce`` (scripts/reproduce_readme.py) writes the README's Results section."""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bnn_init  # noqa: F401  (Keras 2 before TensorFlow)

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reproduce_readme.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("reproduce_readme", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_section_is_generated_between_the_markers(script, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Results\n\n{script.START}\nold\n{script.END}\n\n## After\n")
    argv = ["--size", "quick", "--only", "schoenholz-gradients", "--out", str(tmp_path / "res")]
    assert script.main([*argv, "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\n## Results\n") and text.endswith(f"{script.END}\n\n## After\n")
    assert "old" not in text
    assert "### `schoenholz-gradients`" in text
    assert "`bnn-init reproduce schoenholz-gradients --size quick` (" in text
    assert "min): in the untrained network (as the paper's Fig. 4), fitted gradient depth" in text
    assert "![schoenholz-gradients: schoenholz_gradients](res/schoenholz_gradients.png)" in text
    assert "measured / predicted depth scale: median" in text
    assert (tmp_path / "res" / "schoenholz_gradients.csv").exists()
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    record = summary["schoenholz-gradients"]
    assert {"updates", "paper_updates", "minutes", "headline"} <= set(record)
    assert record["updates"] == 0 and record["minutes"] >= 0  # measured at initialisation


def test_summary_keeps_the_other_experiments(script, tmp_path):
    path = tmp_path / "summary.json"
    script.update_summary(path, {"wang-bnn": {"updates": 1}, "sari-init": {"updates": 2}})
    script.update_summary(path, {"sari-init": {"updates": 3, "x": [1.5, None]}})
    assert json.loads(path.read_text()) == {
        "wang-bnn": {"updates": 1},
        "sari-init": {"updates": 3, "x": [1.5, None]},
    }


def test_other_experiments_keep_their_sections(script):
    old = (
        f"a\n{script.START}\nheader\n### `wang-bnn`\nwang text\n\n"
        f"### `sari-init`\nsari text\n{script.END}\nb\n"
    )
    new = script.replace_results(old, "new header\n", {"sari-init": "### `sari-init`\nnew sari"})
    assert new == (
        f"a\n{script.START}\nnew header\n\n### `wang-bnn`\nwang text\n\n"
        f"### `sari-init`\nnew sari\n{script.END}\nb\n"
    )


def test_missing_markers_fail_before_training(script, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="results:start"):
        script.main(["--size", "quick", "--only", "sari-init", "--readme", str(readme)])


@pytest.mark.slow
def test_two_experiments_at_a_time_write_both_sections_and_summaries(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- results:start -->\nold\n<!-- results:end -->\n")
    names = ["schoenholz-gradients", "mfb-teacher-student"]
    argv = ["--size", "quick", "--only", *names, "--jobs", "2", "--out", str(tmp_path / "res")]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *argv, "--readme", str(readme)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = readme.read_text()
    assert "2 experiment(s) at a time with 1 TensorFlow thread(s) each (" in text
    assert text.index("### `schoenholz-gradients`") < text.index("### `mfb-teacher-student`")
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert set(summary) == set(names)
    assert summary["mfb-teacher-student"]["updates"] == 5_000


def _workers_of(pid):
    """Pids of the spawned experiment workers whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux /proc")
def test_killing_make_reproduce_ends_its_experiments(tmp_path):
    """A `make reproduce` killed outright (SIGKILL: no clean-up runs) leaves no experiment
    running: each worker ends within seconds of losing its parent."""
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- results:start -->\nold\n<!-- results:end -->\n")
    argv = ["--size", "quick", "--only", "sari-init", "wang-bnn", "--jobs", "2"]
    runner = subprocess.Popen(
        [sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path), "--readme", str(readme)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(workers := _workers_of(runner.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(workers) == 2
    finally:
        runner.kill()
        runner.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers)
