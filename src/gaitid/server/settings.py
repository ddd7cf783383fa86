"""What a server is set up with, and its access token.

The token: given by the operator (`token`, $GAITID_TOKEN, or a `--token-file`), else read from, or created
on first start in, the per-user data folder next to the default gallery (`server-token`, mode 0600). A
token file that others can read is refused, as ssh refuses a readable private key.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gaitid.errors import GaitidError
from gaitid.pipeline import PipelineOptions
from gaitid.server.addresses import SourcePolicy
from gaitid.sources import LiveOptions

TOKEN_ENV = "GAITID_TOKEN"
TOKEN_FILE_NAME = "server-token"
MIN_TOKEN_LENGTH = 16


@dataclass
class ServerSettings:
    """Everything `create_app` needs.

    token: the access token every API request must carry (see `resolve_token`).
    gallery: the gallery file (None: $GAITID_GALLERY or the per-user default); key_file: its key file.
    method, target_fpir: how walkers are identified (as `gaitid identify --method --fpir`).
    pipeline: pose model, window, threads... for every run (`frames` is set per request).
    work_dir: where uploads and annotated videos are kept while the server runs (None: a new temporary
        folder, removed at shutdown).
    max_upload_bytes: the largest upload accepted (413 beyond).
    max_queued_jobs: jobs waiting at once (429 beyond); they run one at a time.
    keep_jobs: finished jobs remembered (the oldest are forgotten, their videos deleted).
    max_live_sources: live sources running at once (409 beyond).
    allow_file_sources: whether a live source may be a file on the server's disk (for tests and demos).
    allow_source_hosts: the hosts, addresses and networks (a.b.c.d/n) live sources may connect to; empty:
        any but loopback, link-local and other local addresses (see gaitid.server.addresses).
    live: connection timeouts of live sources.
    index: an archive index folder (`gaitid index`) to search (None: no search); archive: the folders its
        videos may be played from (none: results are listed with their thumbnails, not played).
    """

    token: str
    gallery: Path | None = None
    key_file: str | None = None
    method: str = "cosine"
    target_fpir: float = 0.01
    pipeline: PipelineOptions = field(default_factory=lambda: PipelineOptions(progress=False))
    work_dir: Path | None = None
    max_upload_bytes: int = 500 * 1024 * 1024
    max_queued_jobs: int = 16
    keep_jobs: int = 50
    max_live_sources: int = 2
    allow_file_sources: bool = False
    allow_source_hosts: tuple[str, ...] = ()
    live: LiveOptions = field(default_factory=LiveOptions)
    index: Path | None = None
    archive: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        check_token(self.token)
        self.archive = tuple(Path(p) for p in self.archive)
        if self.archive and self.index is None:
            raise GaitidError("--archive names where an index's videos are played from: give the index too (--index PATH)")
        self.allow_source_hosts = tuple(self.allow_source_hosts)
        SourcePolicy(self.allow_source_hosts)  # a bad entry is an error now, not at the first request
        if self.max_upload_bytes < 1 or self.max_queued_jobs < 1 or self.max_live_sources < 0:
            raise GaitidError("upload limit and job queue must be at least 1, live sources at least 0")


def check_token(token: str) -> None:
    if not isinstance(token, str) or len(token.strip()) < MIN_TOKEN_LENGTH:
        raise GaitidError(f"the access token must have at least {MIN_TOKEN_LENGTH} characters")
    if token != token.strip() or any(c.isspace() for c in token):
        raise GaitidError("the access token must not contain spaces")


def default_token_path() -> Path:
    """`server-token` next to the default gallery ($XDG_DATA_HOME/gaitid or ~/.local/share/gaitid)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "gaitid" / TOKEN_FILE_NAME


def resolve_token(token_file: str | os.PathLike | None = None) -> tuple[str, str]:
    """(token, where it came from): $GAITID_TOKEN, else the token file (given, or the default one, created
    with a new random token when missing)."""
    given = os.environ.get(TOKEN_ENV)
    if given:
        check_token(given)
        return given, f"${TOKEN_ENV}"
    path = Path(token_file).expanduser() if token_file is not None else default_token_path()
    if not path.exists():
        if token_file is not None:
            raise GaitidError(f"no token file at {path}")
        return _create_token_file(path), str(path)
    return _read_token_file(path), str(path)


def _create_token_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server created it at the same moment
        return _read_token_file(path)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def _read_token_file(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise GaitidError(f"cannot read the token file {path}: {getattr(error, 'strerror', None) or error}") from None
    if mode & 0o077:
        raise GaitidError(
            f"the token file {path} can be read by others (mode {mode:o}): chmod 600 {path}, or make a new one"
        )
    check_token(text)
    return text


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
