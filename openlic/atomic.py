"""Atomic file output.

A file is written under a temporary name in the directory of its destination and
renamed over the destination only when it is complete, so an interrupted or failed
run never leaves a truncated codestream or picture behind, and never destroys an
existing file at the destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _temp_in(dest: Path) -> Path:
    """Create an empty temporary file beside ``dest`` that keeps its suffix."""
    fd, name = tempfile.mkstemp(
        prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it to ``path`` on success.

    For writers that want a file name (``refdec.write_png(picture, tmp)``). The
    temporary file keeps the destination's suffix, for writers that choose a format
    by it. If the body raises, the temporary file is removed and ``path`` is left as
    it was.
    """
    dest = Path(path)
    tmp = _temp_in(dest)
    try:
        yield tmp
        _keep_umask_mode(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def _keep_umask_mode(tmp: Path) -> None:
    """Give the file the mode a plain ``open(path, "w")`` would have.

    ``mkstemp`` creates files with mode 0600; the result should be as readable as any
    other file the user writes.
    """
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~umask)
