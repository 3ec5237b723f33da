"""Atomic writes: permissions from the umask, no partial or clobbered files."""

import os
import stat

import pytest

from bnn_init.export.atomic import write_bytes


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_bytes(tmp_path / "model.tflite", b"flatbuffer", overwrite=False)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.tflite").stat().st_mode) == mode
    assert (tmp_path / "model.tflite").read_bytes() == b"flatbuffer"


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_bytes(path, b"new", overwrite=False)
    assert path.read_bytes() == b"old"
    write_bytes(path, b"new", overwrite=True)
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["model.tflite"]  # no temporary file left
