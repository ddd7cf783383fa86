"""Stopping a run on request (Ctrl-C, the SIGTERM of systemd or `docker stop`) without an exception.

Python raises KeyboardInterrupt from a signal wherever the main thread happens to be: inside a lock's or a
condition's wait, a thread join or a library's bookkeeping, whose cleanup it can leave half done (a lock
never released, so the close that follows waits forever). Code that reads frames in a loop declares that
it checks for a stop instead (`checked`): while it runs, the command line's signal handler only sets a flag
(`request`), the loops end at their next frame or wait (`requested`), and the run ends as at the end of its
source, with what it saw written. Everything else is interrupted by the exception, as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_requested = threading.Event()
_lock = threading.Lock()
_checking = 0  # loops running now that check the flag


@contextmanager
def checked() -> Iterator[None]:
    """While inside, a stop request is a flag that this code checks (`requested`), not an exception; the
    flag is cleared when the last such loop ends, so a later run starts afresh."""
    global _checking
    with _lock:
        _checking += 1
    try:
        yield
    finally:
        with _lock:
            _checking -= 1
            if _checking == 0:
                _requested.clear()


def request() -> bool:
    """Ask the running loops to stop. False when none checks the flag: the caller should interrupt (raise)."""
    with _lock:
        if _checking == 0:
            return False
        _requested.set()
        return True


def requested() -> bool:
    """Whether a stop was requested while the loops that check it run."""
    return _requested.is_set()
