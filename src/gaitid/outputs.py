"""Writing results: atomically (a failed run never leaves a half-written or clobbered file) and as JSON."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """A temporary path beside `final` that replaces it only if the block succeeds, so that a failure never
    leaves a half-written file or destroys an earlier one."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(document: Any, destination: str | Path) -> None:
    """Compact JSON and a newline to `destination` (atomically), or to stdout when it is "-"."""
    if str(destination) == "-":
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        return
    with atomic_path(destination) as tmp, open(tmp, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
