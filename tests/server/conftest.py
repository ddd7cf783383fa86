"""Fixtures of the server tests: the sample clip's walkers as vectors (one pipeline run for the whole
session), galleries made from them without running the pipeline again, and servers in-process (FastAPI's
TestClient) or on a real loopback port (uvicorn on a thread)."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the server's dependencies are not installed (pip install -e '.[dev]')")

with warnings.catch_warnings():  # Starlette would have its TestClient use httpx2; httpx works as it is
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401

from server_helpers import JUMPER_TRACK, WALKER_TRACK, LoopbackServer, index_track, index_video, sample_thumbnail, settings_for  # noqa: E402

from gaitid.batch import IndexFolder, IndexSettings, update_vectors  # noqa: E402
from gaitid.gallery import Gallery  # noqa: E402
from gaitid.gallery.cohort import shipped_cohort  # noqa: E402
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


@pytest.fixture
def archive(tmp_path: Path, walk_vectors) -> dict:  # type: ignore[no-untyped-def]
    """An archive index written directly (no gaitid index run): the sample clip's two walkers (as make_gallery
    enrols them) in the sample clip itself, in the archive folder; the walker again in a copy outside it and
    behind a link that leads out of it (neither may be played); strangers' tracks of CASIA-B people (the
    shipped cohort's vectors) under another camera."""
    walker = np.stack([e.vector for e in walk_vectors[WALKER_TRACK]])
    jumper = np.stack([e.vector for e in walk_vectors[JUMPER_TRACK]])
    model = walk_vectors[WALKER_TRACK][0].model
    root, outside = tmp_path / "archive", tmp_path / "outside"
    (root / "gate").mkdir(parents=True)
    outside.mkdir()
    shutil.copy(WALK_VIDEO, root / "gate" / "walk.mp4")
    shutil.copy(WALK_VIDEO, outside / "copy.mp4")
    (root / "gate" / "link.mp4").symlink_to(outside / "copy.mp4")
    folder = IndexFolder(tmp_path / "archive.idx")
    folder.start(IndexSettings(model, "silhouette", 30, 15, "full", 4))
    seen = sample_thumbnail(WALK_VIDEO, (760, 280, 880, 540))  # the walker, right, in the first frame
    walking = [index_track(WALKER_TRACK, walker, thumbnail=seen), index_track(JUMPER_TRACK, jumper, 0.0)]
    ids = {
        "walk": index_video(folder, root / "gate" / "walk.mp4", "gate", walking, model),
        "outside": index_video(folder, outside / "copy.mp4", "elsewhere", [index_track(1, walker[::-1], thumbnail=seen)], model),
        "link": index_video(folder, root / "gate" / "link.mp4", "gate", [index_track(1, walker[1:], thumbnail=seen)], model),
    }
    cohort = shipped_cohort(model)
    for n in range(1, 11):  # strangers: CASIA-B people, a video each under another camera
        rows = np.flatnonzero(cohort.labels == f"casia-b-{n:03d}")[:4]
        index_video(folder, root / "hall" / f"casia-{n}.mp4", "hall", [index_track(1, cohort.vectors[rows])], model)
    update_vectors(folder)
    return {"root": root, "index": folder.path, "ids": ids, "walker": walker, "model": model, "tmp": tmp_path}
