"""Fixtures of the server tests: the sample clip's walkers as vectors (one pipeline run for the whole
session), galleries made from them without running the pipeline again, and servers in-process (FastAPI's
TestClient) or on a real loopback port (uvicorn on a thread)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server's dependencies are not installed (pip install -e '.[dev]')")

with warnings.catch_warnings():  # Starlette would have its TestClient use httpx2; httpx works as it is
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401

from server_helpers import JUMPER_TRACK, WALKER_TRACK, LoopbackServer, settings_for  # noqa: E402

from gaitid.gallery import Gallery  # noqa: E402
from gaitid.samples import WALK_VIDEO  # noqa: E402
from gaitid.server import ServerSettings  # noqa: E402
from gaitid.types import Embedding  # noqa: E402


@pytest.fixture(scope="session")
def walk_vectors() -> dict[int, list[Embedding]]:
    """The gait vectors of the sample clip's two people over frames 0:80 (as `gaitid enroll` computes them)."""
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.pipeline import PipelineOptions, analyse
    from gaitid.pipeline.walkers import Walkers

    options = PipelineOptions(frames=(0, 80), progress=False)
    encoder = GaitEncoder()
    result = analyse(str(WALK_VIDEO), Walkers(encoder, None, options.window), options)
    states = result.walkers.states
    return {t: states[t].embeddings(encoder.model, options.window.size) for t in (WALKER_TRACK, JUMPER_TRACK)}


@pytest.fixture
def make_gallery(tmp_path: Path, walk_vectors) -> Callable[..., Path]:
    """A gallery file with the named people of the sample clip enrolled ("walker", "jumper")."""

    def make(*names: str) -> Path:
        path = tmp_path / "gallery.db"
        with Gallery.open(path) as gallery:
            for name in names:
                track = {"walker": WALKER_TRACK, "jumper": JUMPER_TRACK}[name]
                gallery.enroll(name, walk_vectors[track], source="walk.mp4")
        return path

    return make


@pytest.fixture
def loopback_server() -> Iterator[Callable[[ServerSettings], LoopbackServer]]:
    started: list[LoopbackServer] = []

    def start(settings: ServerSettings) -> LoopbackServer:
        server = LoopbackServer(settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[Callable[..., fastapi.testclient.TestClient]]:
    """In-process clients (FastAPI's TestClient) of servers on a gallery, with settings changed as asked."""
    from gaitid.server import create_app

    clients = []

    def make(gallery: Path, **changes) -> fastapi.testclient.TestClient:  # type: ignore[no-untyped-def]
        client = fastapi.testclient.TestClient(create_app(settings_for(gallery, tmp_path, **changes)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
