"""Writing results: atomically (a failed run never leaves a half-written or clobbered file) and as JSON."""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(final: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """A temporary path beside `final` that replaces it only if the block succeeds, so that a failure never
    leaves a half-written file or destroys an earlier one. The temporary file is new (O_EXCL, random name) and
    readable by its owner only. replace=False: raise FileExistsError instead of replacing anything at `final`
    (a file, a link), even one that appears while the block runs."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if replace:
            os.replace(tmp, final)
        else:
            _publish_new(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _publish_new(tmp: Path, final: Path) -> None:
    """Give `tmp` the name `final` unless something has it: a hard link fails rather than replace."""
    try:
        os.link(tmp, final, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(final):  # a file system without hard links (FAT): checked, then renamed
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(final)) from None
        os.replace(tmp, final)


_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK}


def write_json(document: Any, destination: str | Path) -> None:
    """Compact JSON and a newline to `destination` (atomically), or to stdout when it is "-"."""
    if str(destination) == "-":
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        return
    with atomic_path(destination) as tmp, open(tmp, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
