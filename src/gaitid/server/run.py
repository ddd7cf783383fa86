"""`gaitid serve`: resolve the token, build the application, run it with uvicorn until Ctrl-C."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from gaitid.errors import GaitidError
from gaitid.pipeline import PipelineOptions
from gaitid.server.settings import ServerSettings, is_loopback, resolve_token


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    token_file: str | None = None,
    gallery: str | None = None,
    key_file: str | None = None,
    method: str = "cosine",
    target_fpir: float = 0.01,
    work_dir: str | None = None,
    max_upload_mb: float = 500.0,
    allow_file_sources: bool = False,
    allow_source_hosts: tuple[str, ...] = (),
    pipeline: PipelineOptions | None = None,
    index: str | None = None,
    archive: tuple[str, ...] = (),
) -> int:
    from gaitid.server.app import create_app

    if not 0 < port < 65536:
        raise GaitidError(f"--port must be between 1 and 65535, got {port}")
    if max_upload_mb <= 0:
        raise GaitidError(f"--max-upload-mb must be positive, got {max_upload_mb}")
    sockets = listen(host, port)  # first: an address it cannot listen on is a one-line error, and changes nothing
    try:
        token, origin = resolve_token(token_file)
        settings = ServerSettings(
            token=token,
            gallery=Path(gallery) if gallery else None,
            key_file=key_file,
            method=method,
            target_fpir=target_fpir,
            work_dir=Path(work_dir) if work_dir else None,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            allow_file_sources=allow_file_sources,
            allow_source_hosts=allow_source_hosts,
            pipeline=pipeline or PipelineOptions(progress=False),
            index=Path(index) if index else None,
            archive=tuple(Path(a) for a in archive),
        )
        app = create_app(settings)
        _announce(str(app.state.service.gallery.store.path), host, port, token, origin)
        if index:
            played = ", ".join(archive) if archive else "nowhere (give --archive DIR to play them)"
            print(f"gaitid: searching the archive index {index}; its videos are played from {played}", file=sys.stderr)
        # No access log: it would show every request's path to whoever reads the log, and adds nothing here.
        config = uvicorn.Config(
            app, host=host, port=port, access_log=False, timeout_graceful_shutdown=3, log_level="info"
        )
        _Server(config, app.state.service.hub.close).run(sockets=sockets)
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C or SIGTERM, then raises the signal again; by then the
        # server has stopped as it was asked to, which is a clean exit (what systemd and docker expect).
        pass
    finally:
        for sock in sockets:
            sock.close()
    print("gaitid: the server has stopped", file=sys.stderr)
    return 0


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of `host` at `port` (uvicorn listens on them); GaitidError, in one
    line, when `host` is no address or the port cannot be had."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise GaitidError(f"--host {host}: not an address this machine can listen on ({reason})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys((i[0], i[1], i[2], "", i[4]) for i in infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: each family on a socket of its own
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise GaitidError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None
    return sockets


def _announce(gallery: str, host: str, port: int, token: str, origin: str) -> None:
    shown = f"[{host}]" if ":" in host else host
    print(f"gaitid: serving {gallery} on http://{shown}:{port}/", file=sys.stderr)
    print(f"gaitid: the token is in {origin}; open the page with it:", file=sys.stderr)
    print(f"  http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/#token={token}", file=sys.stderr)
    if not is_loopback(host):
        print(
            "gaitid: warning: listening beyond this machine over plain HTTP: the token and the videos travel "
            "unencrypted; put a TLS proxy in front",
            file=sys.stderr,
        )


class _Server(uvicorn.Server):
    """uvicorn's server, ending the event streams as soon as it is asked to stop (an open stream would
    otherwise hold the shutdown until the graceful timeout)."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)
