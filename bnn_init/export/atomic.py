"""Atomic file writes: temporary file in the target directory, fsync, then rename or link; the file
gets the permissions the user's umask gives a new file (0644 under the usual 022), not the 0600
of a temporary file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def check_target(path, overwrite: bool) -> Path:
    """Validate ``path`` before any work: parent exists, no clobbering unless ``overwrite``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path={str(path)!r}: directory {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"path={str(path)!r} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise FileExistsError(f"path={str(path)!r} exists; pass overwrite=True to replace it")
    return path


def _new_file_mode() -> int:
    """0666 less the process umask (read without changing it for longer than one call)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes(path, data: bytes, overwrite: bool) -> None:
    """Write ``data`` to ``path`` so readers never see a partial file.

    With ``overwrite=False`` the final step is ``os.link`` (fails if ``path`` appeared meanwhile);
    with ``overwrite=True`` it is ``os.replace``. The temporary file is removed on any failure.
    """
    path = check_target(path, overwrite)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _new_file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(
                    f"path={str(path)!r} exists; pass overwrite=True to replace it"
                ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
