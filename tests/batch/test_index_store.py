"""The index folder (gaitid.batch.store), the vector index (gaitid.batch.vectors) and the search through the
gallery's decision (gaitid.batch.search), on real model vectors: the cohort shipped with the model (CASIA-B
people 001-074), laid out as an archive of tracks. No video is processed here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaitid.batch import IndexFolder, IndexSettings, TrackRow, VideoRecord, build_vectors, open_vectors, search_index
from gaitid.batch.search import Query, ending_text, result_json, vector_query
from gaitid.batch.report import report_html
from gaitid.errors import GaitidError, InputError
from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import CohortSource
from gaitid.gallery.cohort import Cohort, shipped_cohort

MODEL = GaitEncoder().model  # the shipped default model, whose cohort ships beside it


@pytest.fixture(scope="module")
def cohort():  # type: ignore[no-untyped-def]
    found = shipped_cohort(MODEL)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def strangers(cohort):  # type: ignore[no-untyped-def]
    """The cohort the searches calibrate against: people 031-074, never in the test archives (001-030)."""
    keep = cohort.labels > "casia-b-030"
    return CohortSource(MODEL, Cohort.from_vectors(cohort.vectors[keep], cohort.labels[keep], MODEL), shipped=False)


def _people(numbers) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"casia-b-{p:03d}" for p in numbers]


def _settings() -> IndexSettings:
    return IndexSettings(MODEL, "silhouette", 30, 15, "full", 4)


def _archive(folder: IndexFolder, cohort, people: list[str], windows: int = 4) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """One video per person, holding two tracks of `windows` windows each of that person's cohort vectors.
    Returns person -> the cohort rows used per track, in order."""
    folder.start(_settings())
    used = {}
    for n, person in enumerate(people):
        rows = np.flatnonzero(cohort.labels == person)[: 2 * windows]
        tracks = [
            TrackRow(track=t + 1, first_frame=10 * t, last_frame=10 * t + 9, first_time=t, last_time=t + 0.9,
                     frames=10, usable_frames=10, window_vectors=cohort.vectors[rows[t * windows:(t + 1) * windows]],
                     thumbnail=b"\xff\xd8jpeg" if t == 0 else None, thumbnail_frame=10 * t, thumbnail_time=float(t),
                     thumbnail_box=(1.0, 2.0, 3.0, 4.0))
            for t in range(2)
        ]
        tracks.append(TrackRow(3, 0, 5, 0.0, 0.5, 6, 2, np.zeros((0, cohort.vectors.shape[1]), np.float32)))  # too short
        video = f"/archive/cam{n % 2}/{person}.mp4"
        from gaitid.batch import video_id

        record = VideoRecord(video_id(video), video, f"cam{n % 2}", "2024-05-01T08:00:00", "done", None, 3, 30, 1.0, 1, 1.0, MODEL)
        folder.write_video(record, tracks)
        used[person] = [int(r) for r in rows]
    return used


def test_a_video_is_written_whole_and_read_back(tmp_path: Path, cohort) -> None:  # type: ignore[no-untyped-def]
    folder = IndexFolder(tmp_path / "idx")
    _archive(folder, cohort, _people([1]), windows=3)
    records = folder.records()
    (record,) = records.values()
    assert record.status == "done" and record.tracks == 3 and record.camera == "cam0"
    rows = folder.tracks(record.video_id).to_pylist()
    assert [r["track"] for r in rows] == [1, 2, 3] and [r["windows"] for r in rows] == [3, 3, 0]
    first = np.asarray(rows[0]["vector"], np.float32)
    mean = cohort.vectors[np.flatnonzero(cohort.labels == "casia-b-001")[:3]].mean(axis=0)
    np.testing.assert_allclose(first, mean / np.linalg.norm(mean), atol=1e-6)
    assert rows[2]["vector"] is None and rows[0]["thumbnail"] == b"\xff\xd8jpeg"
    assert sorted(p.name for p in folder.videos_dir.iterdir()) == [f"{record.video_id}.parquet"]  # no temporary left
    # the same video again replaces its file: never twice the rows
    folder.write_video(record, [])
    assert folder.all_tracks(["track"]).num_rows == 0


def test_an_index_refuses_other_settings(tmp_path: Path) -> None:
    folder = IndexFolder(tmp_path / "idx")
    folder.start(_settings())
    with pytest.raises(InputError, match=r"other settings \(window=30"):
        folder.start(IndexSettings(MODEL, "silhouette", 20, 15, "full", 4))
    with pytest.raises(InputError, match="not a gaitid index"):
        IndexFolder(tmp_path / "other").settings()


@pytest.mark.parametrize("modality, stale", [("silhouette", True), ("fused", True), ("skeleton", False)])
def test_an_index_made_before_walkers_were_turned_is_refused_and_said_so(tmp_path: Path, modality: str, stale: bool) -> None:
    """index.json files written before the field hold silhouette vectors of walkers crossing left to right as
    filmed: adding turned ones to them would mix two kinds of vector, so the run is refused; skeleton vectors
    never changed."""
    from dataclasses import asdict

    from gaitid.batch.store import STALE_DIRECTION

    folder = IndexFolder(tmp_path / "idx")
    current = IndexSettings(MODEL, modality, 30, 15, "full", 4)
    before = {k: v for k, v in asdict(current).items() if k != "walkers_turned"}
    folder.path.mkdir()
    (folder.path / "index.json").write_text(json.dumps(before))
    assert folder.settings().stale_direction is stale and not current.stale_direction
    if stale:
        with pytest.raises(InputError, match=f"{STALE_DIRECTION}: index into a new folder"):
            folder.start(current)
    else:
        folder.start(current)  # the same settings: accepted
    fresh = IndexFolder(tmp_path / "new")
    fresh.start(current)
    assert fresh.settings() == current and json.loads((fresh.path / "index.json").read_text())["walkers_turned"]


@pytest.mark.parametrize("exact_limit", [10**9, 0], ids=["exact", "hnsw"])
def test_the_vector_index_finds_the_most_similar_tracks(tmp_path: Path, cohort, exact_limit: int) -> None:  # type: ignore[no-untyped-def]
    folder = IndexFolder(tmp_path / "idx")
    people = _people(range(1, 31))
    _archive(folder, cohort, people)
    info = build_vectors(folder, exact_limit=exact_limit)
    assert info.count == 60 and info.backend == ("exact" if exact_limit else "faiss-hnsw")
    index = open_vectors(folder)
    assert index.info == info  # current: not rebuilt
    means = np.asarray(index.means)
    query = means[7]
    rows, scores = index.search(query, 5)
    exact = np.argsort(-(means @ query))[:5]
    assert list(rows) == list(exact) and np.all(np.diff(scores) <= 0)
    assert index.key(int(rows[0]))[1] in (1, 2)
    before = sorted(p.name for p in folder.vectors_dir.iterdir())
    build_vectors(folder, exact_limit=exact_limit)  # a new generation replaces the old one's files
    after = sorted(p.name for p in folder.vectors_dir.iterdir())
    assert len(after) == len(before) and after != before


def test_search_finds_the_persons_other_tracks_and_nobody_else(tmp_path: Path, cohort, strangers) -> None:  # type: ignore[no-untyped-def]
    folder = IndexFolder(tmp_path / "idx")
    people = _people(range(1, 21))
    used = _archive(folder, cohort, people)
    target = "casia-b-012"
    # the query: other windows of person 007 than those indexed
    rows = np.flatnonzero(cohort.labels == target)
    fresh = np.setdiff1d(rows, used[target])[:4]
    result = search_index(folder, Query(cohort.vectors[fresh], MODEL, "person 012"), top=5, patience=10, cohort=strangers)
    found = {(Path(a.video).stem, a.track) for a in result.appearances}
    assert found == {(target, 1), (target, 2)}
    assert all(a.score >= 0.99 and a.fpir == pytest.approx(1 - a.score) for a in result.appearances)
    assert result.complete and result.tracks == 40 and result.checked <= 40
    assert "no more appearances" in ending_text(result)
    document = result_json(result)
    assert document["appearances"][0]["start"].startswith("2024-05-01T08:00") and document["expected_false_appearances"] == 0.4
    page = report_html(result)
    assert page.count("<figure>") == 2 and "person 012" in page and "#t=" in page
    # a query of another model is refused, as identification refuses it
    with pytest.raises(GaitidError, match="never compared"):
        search_index(folder, Query(cohort.vectors[fresh], "other/1", "x"))


def test_top_cuts_the_list_and_says_how_many_more(tmp_path: Path, cohort, strangers) -> None:  # type: ignore[no-untyped-def]
    folder = IndexFolder(tmp_path / "idx")
    _archive(folder, cohort, _people([3, 4, 5]))
    rows = np.flatnonzero(cohort.labels == "casia-b-003")[8:12]
    result = search_index(folder, Query(cohort.vectors[rows], MODEL, "q"), top=1, cohort=strangers)
    assert len(result.appearances) == 1 and result.more == 1
    assert "1 more appearances" in ending_text(result)


def test_vector_queries_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "q.npy"
    np.save(good, np.ones(8, np.float32))
    assert vector_query(str(good), MODEL, 8).vectors.shape == (1, 8)
    with pytest.raises(InputError, match="dimension 16"):
        vector_query(str(good), MODEL, 16)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    with pytest.raises(InputError, match="not a .npy array"):
        vector_query(str(bad), MODEL, 8)
    with pytest.raises(InputError, match="no such file"):
        vector_query(str(tmp_path / "none.npy"), MODEL, 8)


def _added_to_graph(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Counts the rows that enter any HNSW graph from here on (the one place they enter it)."""
    from gaitid.batch import vectors

    counted: list[int] = []
    real = vectors._hnsw_add
    monkeypatch.setattr(vectors, "_hnsw_add", lambda index, rows: (counted.append(len(rows)), real(index, rows)))
    return counted


@pytest.mark.parametrize("exact_limit", [10**9, 0], ids=["exact", "hnsw"])
def test_a_rerun_adds_only_the_new_videos_tracks(tmp_path: Path, cohort, monkeypatch, exact_limit: int) -> None:  # type: ignore[no-untyped-def]
    from gaitid.batch import load_vectors, update_vectors

    folder = IndexFolder(tmp_path / "idx")
    _archive(folder, cohort, _people(range(1, 11)))
    first = update_vectors(folder, exact_limit)
    assert (first.generation, first.count, first.rebuilt, first.added) == (1, 20, True, 20)
    assert update_vectors(folder, exact_limit) == first  # nothing new: the same generation, nothing written
    graph = _added_to_graph(monkeypatch)
    _archive(folder, cohort, _people(range(11, 16)))  # five more videos, two tracks each
    second = update_vectors(folder, exact_limit)
    assert (second.generation, second.count, second.rebuilt, second.added) == (2, 30, False, 10)
    assert sum(graph) == (10 if exact_limit == 0 else 0)  # the graph got the new tracks, not all 30 again
    index = load_vectors(folder)
    assert index is not None and index.info == second
    means, keys = np.asarray(index.means).copy(), [str(k) for k in index.keys]
    for row in range(20, 30):  # every new track is found, first, by its own vector
        rows, _ = index.search(means[row], 3)
        assert keys[rows[0]] == keys[row]
    # the same rows as a build from every track
    full = build_vectors(folder, exact_limit)
    assert (full.generation, full.rebuilt, full.added) == (3, True, 30)
    again = load_vectors(folder)
    by_key = {str(k): np.asarray(again.means[i]) for i, k in enumerate(again.keys)}
    assert sorted(by_key) == sorted(keys) and all(np.array_equal(by_key[k], means[i]) for i, k in enumerate(keys))
    names = [("means", "npy"), ("keys", "npy"), ("videos", "json")] + ([("hnsw", "faiss")] if exact_limit == 0 else [])
    assert sorted(p.name for p in folder.vectors_dir.iterdir() if not p.name.startswith(".")) == sorted(
        [f"{n}-3.{e}" for n, e in names] + ["info.json"]
    )


def test_a_changed_video_or_the_first_graph_rebuilds_from_every_track(tmp_path: Path, cohort) -> None:  # type: ignore[no-untyped-def]
    from gaitid.batch import update_vectors, video_id

    folder = IndexFolder(tmp_path / "idx")
    _archive(folder, cohort, _people(range(1, 11)))
    assert update_vectors(folder, exact_limit=25).backend == "exact"
    _archive(folder, cohort, _people(range(11, 13)))  # 24 rows: still exact, extended
    assert update_vectors(folder, exact_limit=25).rebuilt is False
    _archive(folder, cohort, _people(range(13, 15)))  # 28 rows: past the limit, the graph of all of them
    info = update_vectors(folder, exact_limit=25)
    assert (info.backend, info.rebuilt, info.added, info.count) == ("faiss-hnsw", True, 28, 28)
    vid = video_id("/archive/cam0/casia-b-001.mp4")  # a video with tracks in the index, written again: its
    record = folder.records()[vid]                   # rows must leave the graph, so every track is read again
    folder.write_video(record, [])
    info = update_vectors(folder, exact_limit=25)
    assert (info.rebuilt, info.count) == (True, 26)


def test_a_crash_midway_leaves_the_previous_generation_current(tmp_path: Path, cohort, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import faiss

    from gaitid.batch import load_vectors, update_vectors

    folder = IndexFolder(tmp_path / "idx")
    _archive(folder, cohort, _people(range(1, 11)))
    first = update_vectors(folder, exact_limit=0)
    _archive(folder, cohort, _people(range(11, 16)))

    def crash(*args) -> None:  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)  # the new means and keys are written, the graph is not
    with pytest.raises(OSError, match="disk full"):
        update_vectors(folder, exact_limit=0)
    monkeypatch.undo()
    index = load_vectors(folder)
    assert index is not None and index.info == first and index.count == 20
    assert index.search(np.asarray(index.means[3]), 1)[0][0] == 3
    # a writer killed outright leaves half-written files of the next generation behind: they are replaced
    (folder.vectors_dir / "hnsw-2.faiss").write_bytes(b"half")
    (folder.vectors_dir / ".means-2.x.npy").write_bytes(b"half")
    second = update_vectors(folder, exact_limit=0)
    assert (second.generation, second.count, second.rebuilt, second.added) == (2, 30, False, 10)
    assert load_vectors(folder).search(np.asarray(load_vectors(folder).means[25]), 1)[0][0] == 25
    assert not [p for p in folder.vectors_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"]


def test_an_index_keeps_one_analysis_rate(tmp_path: Path) -> None:
    from gaitid.batch.run import settings_for
    from gaitid.pipeline import PipelineOptions

    every_frame, subsampled = settings_for(PipelineOptions(max_fps=None)), settings_for(PipelineOptions())
    assert every_frame.extra == {"window_rate": 15} and subsampled.extra == {"max_fps": 15, "window_rate": 15}
    folder = IndexFolder(tmp_path / "idx")
    folder.start(every_frame)
    with pytest.raises(InputError, match="other settings"):
        folder.start(subsampled)


def test_a_clip_is_searched_for_with_the_windows_and_rate_of_its_index() -> None:
    """Windows counted at 15 a second in an index of today; in the source's frames, at every frame, in an
    index made before windows had a rate (no "window_rate", no "max_fps")."""
    from gaitid.batch.run import settings_for
    from gaitid.batch.search import clip_options
    from gaitid.pipeline import PipelineOptions
    from gaitid.pipeline.walkers import WindowSpec

    today = clip_options(settings_for(PipelineOptions()))
    assert (today.window, today.max_fps) == (WindowSpec(20, 10, rate=15), 15)
    before = clip_options(IndexSettings(MODEL, "silhouette", 30, 15, "full", 4))
    assert (before.window, before.max_fps) == (WindowSpec(30, 15, rate=None), None)


def test_a_track_too_short_for_a_window_is_indexed_without_vectors(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A track seen too briefly for a window (one frame here) is kept, with no window vectors."""
    from gaitid.batch import task
    from gaitid.pipeline import PipelineOptions
    from gaitid.pipeline.stream import StreamRun
    from gaitid.samples import WALK_VIDEO
    from gaitid.sources.archive import ArchiveVideo
    from gaitid.types import Frame, FramePeople, Person

    def one_brief_track(video, walkers, options, estimator=None, on_frame=None):  # type: ignore[no-untyped-def]
        frame = Frame(np.zeros((120, 160, 3), np.uint8), 0, 0.0)
        person = Person(np.array([40, 20, 80, 110], np.float32), 0.9, np.zeros((33, 3), np.float32), track_id=1)
        people = FramePeople(0, 0.0, (person,), (120, 160))
        walkers.update(people)
        on_frame(frame, people)
        return type("Run", (), {"run": StreamRun(1, 0.1, False)})()

    monkeypatch.setattr(task, "analyse", one_brief_track)
    summary = task.index_video(ArchiveVideo(str(WALK_VIDEO), "cam"), str(tmp_path / "idx"), PipelineOptions())
    assert summary.status == "done" and summary.tracks == 1
    rows = IndexFolder(tmp_path / "idx").tracks(summary.video_id, ["track", "window_vectors"]).to_pylist()
    assert rows == [{"track": 1, "window_vectors": []}]


def test_an_index_goes_on_at_the_rate_it_was_made_at(tmp_path: Path) -> None:
    """Without --max-fps, `gaitid index` into an existing index takes the rate the index was made at, and a
    new index the default (at most 15 frames a second)."""
    from gaitid.batch.run import settings_for
    from gaitid.cli import _index_options, build_parser
    from gaitid.pipeline import PipelineOptions

    def options(index: Path, *extra: str):  # type: ignore[no-untyped-def]
        return _index_options(build_parser().parse_args(["index", "clips", "--index", str(index), *extra]))

    old = IndexFolder(tmp_path / "old")
    old.start(settings_for(PipelineOptions(max_fps=15)))
    assert options(old.path).max_fps == 15
    assert options(old.path, "--max-fps", "0").max_fps is None  # and start() refuses it, as before
    assert options(tmp_path / "new").max_fps == 15
