"""Writing results: atomically (a failed run never leaves a half-written or clobbered file) and as JSON."""

from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gaitid.errors import InputError


@contextmanager
def atomic_path(final: str | Path, *, replace: bool = True, private: bool = False) -> Iterator[Path]:
    """A temporary path beside `final` that replaces it only if the block succeeds, so that a failure never
    leaves a half-written file or destroys an earlier one. The temporary file is new (O_EXCL, random name) and
    readable by its owner only while it is written; the finished file gets the modes the umask allows, as
    any program's output does, unless `private` (galleries' exports: biometric templates stay owner-only).
    replace=False: raise FileExistsError instead of replacing anything at `final` (a file, a link), even one
    that appears while the block runs."""
    final = Path(final)
    if final.exists() and not final.is_file():  # a device or a pipe is not replaced by a file, ever
        raise InputError(f"{final}: not a regular file; give the name of a file to write")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if not private:
            os.chmod(tmp, 0o666 & ~current_umask())
        if replace:
            os.replace(tmp, final)
        else:
            _publish_new(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask can only be read by setting it, which would
    race with other threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # elsewhere: read it by setting the strictest value for the instant it takes
    os.umask(mask)
    return mask


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


def check_output(path: str | Path, inputs: Sequence[str | Path] = (), suffixes: Sequence[str] = ()) -> None:
    """Refuse, before any work is done, an output that could not be written or should not be: a folder,
    something that is not a regular file (a device, a pipe), one of the inputs, a place where no file can
    be created; and, when `suffixes` are given, a name that does not end in one of them."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give the name of a file to write")
    if target.exists() and not target.is_file():
        raise InputError(f"{target}: not a regular file; give the name of a file to write")
    if suffixes and target.suffix.lower() not in suffixes:
        raise InputError(f"{target}: the output must end in {' or '.join(suffixes)}")
    for source in inputs:
        if _same_file(target, Path(source)):
            raise InputError(f"{target}: is also an input; write the output to another file")
    check_folder(target.parent, for_what=target)


def check_folder(folder: str | Path, for_what: str | Path | None = None) -> None:
    """Refuse a folder in which no file can be created (the folders missing on the way are created when
    the file is written, so it is the nearest existing one that must take a new file)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    name = for_what if for_what is not None else folder
    if not existing.is_dir():
        raise InputError(f"{name}: cannot be created, {existing} is a file, not a folder")
    try:
        # a real attempt: permission bits say nothing to root, and nothing of read-only or virtual filesystems
        fd, probe = tempfile.mkstemp(prefix=".gaitid-probe-", dir=existing)
    except OSError as error:
        raise InputError(f"{name}: cannot write in {existing} ({error.strerror or error})") from None
    os.close(fd)
    os.unlink(probe)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def counted(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 track", "2 tracks"; `nouns` for a plural that is not noun + s ("1 person", "3 people")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
