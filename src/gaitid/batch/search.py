"""Where else does this walker appear? Search an archive index for a person, a track or a vector.

The question is put to the gallery's one decision (`Gallery.decide`), exactly as identification puts it:
the query (an enrolled person's vectors, an indexed track's window vectors, or vectors from a file) is
enrolled alone in a gallery of its own, normalised and calibrated against the same cohort as the user's
gallery (the shipped cohort and the site's own walkers), and every candidate track of the archive is
decided as a walker would be, over all its windows. A track is an appearance when the decision names the
query, that is when its estimated false-positive identification rate (the fraction of strangers'
walks that would score as high) is within the target; its score is 1 - that rate.

Candidates come from the vector index (gaitid.batch.vectors), most similar track vectors first, and are
decided in that order until `patience` in a row are not appearances (or the archive is exhausted): that is
when the search says "no more appearances". Track vectors and decisions are not ranked identically, so
this is a stopping rule, not a proof; `patience` sets how far past the last appearance it looks. Over an
archive of N tracks about target x N strangers' tracks are expected to pass by chance: the result says so.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitid.batch.store import IndexFolder, IndexSettings, video_id
from gaitid.batch.vectors import VectorIndex, open_vectors
from gaitid.errors import GaitidError, InputError
from gaitid.gallery import CohortSource, Gallery
from gaitid.gallery.evidence import TrackEvidence
from gaitid.pipeline import PipelineOptions, WalkRun, choose_walker
from gaitid.sources.archive import moment
from gaitid.types import Embedding

QUERY = "query"
PATIENCE = 50
DEFAULT_TOP = 20
DEFAULT_TARGET_FPIR = 0.01


@dataclass(frozen=True)
class Query:
    """What is searched for: window vectors of one walker (n, d), the model that made them, a description,
    and the indexed track it is (left out of the results), if any."""

    vectors: np.ndarray
    model: str
    label: str
    exclude: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or not len(self.vectors):
            raise InputError(f"a query needs one or more vectors, got an array of shape {self.vectors.shape}")

    @property
    def mean(self) -> np.ndarray:
        mean = self.vectors.mean(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class Appearance:
    """One track of the archive where the query walks."""

    rank: int
    video: str
    video_id: str
    camera: str
    track: int
    first_time: float
    last_time: float
    start: str | None  # wall-clock times, when the archive's manifest gave the video's start
    end: str | None
    score: float  # 1 - fpir
    fpir: float
    similarity: float  # cosine of the track's vector and the query's (how it was found)
    windows: int
    thumbnail: bytes | None
    thumbnail_time: float | None


@dataclass
class SearchResult:
    query: str
    model: str
    appearances: list[Appearance]
    more: int  # appearances found beyond `top`
    checked: int  # candidate tracks decided
    tracks: int  # tracks in the index with a vector
    complete: bool  # True: stopped because `patience` candidates in a row were not appearances, or none left
    patience: int
    target_fpir: float
    calibration: dict = field(default_factory=dict)

    @property
    def expected_false(self) -> float:
        """Strangers' tracks expected to pass by chance over the whole index, at the target rate."""
        return self.target_fpir * self.tracks


# -- queries -------------------------------------------------------------------------------------------------


def person_query(gallery: Gallery, name: str, model: str) -> Query:
    """An enrolled person's vectors of the index's model."""
    person = gallery.person(name)
    vectors = [v.vector for v in person.vectors if v.model == model]
    if not vectors:
        have = ", ".join(sorted(person.models)) or "none"
        raise GaitidError(
            f"{name} has no vectors of the index's model {model!r} (theirs: {have}); enrol them again with it"
        )
    return Query(np.stack(vectors).astype(np.float32), model, f"person {name}")


def is_indexed(folder: IndexFolder, video: str) -> bool:
    """Whether the video file (as it was given to gaitid index) is in the index, indexed or failed."""
    return video_id(str(Path(video).resolve())) in folder.records()


def track_query(folder: IndexFolder, video: str, track: int | None) -> Query:
    """An indexed track's window vectors (the video as it was given to gaitid index; track None: its only
    walker with a gait window)."""
    vid = video_id(str(Path(video).resolve()))
    if vid not in folder.records():
        raise InputError(f"{video}: not in the index {folder.path}")
    return indexed_track_query(folder, vid, track, video)


def indexed_track_query(folder: IndexFolder, vid: str, track: int | None, name: str) -> Query:
    """The window vectors of track `track` of the indexed video `vid` (None: its only walker with a gait
    window); `name`: the video in messages."""
    record = folder.records().get(vid)
    if record is None:
        raise InputError(f"{name}: not in the index")
    if record.status != "done":
        raise InputError(f"{name}: failed to index ({record.error})")
    table = folder.tracks(vid, ["track", "window_vectors", "model"]).to_pylist()
    if track is None:
        walkers = [r["track"] for r in table if r["window_vectors"]]
        if len(walkers) != 1:
            listed = ", ".join(str(t) for t in walkers) or "none"
            raise InputError(f"{name} has {len(walkers)} tracks with a gait window ({listed}): say which track to search for")
        track = walkers[0]
    rows = [r for r in table if r["track"] == track]
    if not rows:
        raise InputError(f"{name} has no track {track} in the index; its tracks: {', '.join(str(r['track']) for r in table) or 'none'}")
    if not rows[0]["window_vectors"]:
        raise InputError(f"{name} track {track} is too short to search for (no gait window)")
    return Query(np.asarray(rows[0]["window_vectors"], np.float32), rows[0]["model"], f"{Path(name).name} track {track}", (vid, track))


def clip_options(settings: IndexSettings) -> PipelineOptions:
    """Pipeline options that make vectors comparable with the index's: its pose model, modality, windows and
    analysed frame rate."""
    from gaitid.pipeline.walkers import WindowSpec

    return PipelineOptions(
        pose_model=settings.pose_model, detect_interval=settings.detect_interval, modality=settings.modality,
        window=WindowSpec(size=settings.window, stride=settings.stride, rate=settings.extra.get("window_rate")),
        max_fps=settings.extra.get("max_fps"),
    )


def check_model(model: str, settings: IndexSettings, video: str) -> None:
    """A clip can only be searched for with the model the index was made with."""
    if model != settings.model:
        raise InputError(
            f"the index holds vectors of the gait model {settings.model!r}, this installation's is {model!r}: "
            f"index {video} too (gaitid index), then search for its track"
        )


def walker_query(run: WalkRun, track: int | None, name: str) -> Query:
    """The window vectors of a run's walker `track` (None: its only walker with a gait window); `name`: the
    video in messages and in the result."""
    state = choose_walker(run, track)
    return Query(np.asarray(state.vectors, np.float32), run.model, f"{name} track {state.track_id}")


def clip_query(path: str, track: int | None, settings: IndexSettings) -> Query:
    """A walker of a video that is not in the index (a new clip of the person sought): the video is run
    through the pipeline with the index's settings, and its track `track` (None: its only walker with a gait
    window) gives the window vectors."""
    from gaitid.batch.task import MAX_WINDOWS
    from gaitid.pipeline import analyse, encoder_for, walkers_for

    options = clip_options(settings)
    encoder = encoder_for(options)
    check_model(encoder.model, settings, path)
    run = analyse(path, walkers_for(options, encoder, None, max_windows=MAX_WINDOWS), options)
    if run.run.error is not None:
        raise run.run.error
    return walker_query(run, track, Path(path).name)


def vector_query(path: str, model: str, dim: int) -> Query:
    """Vectors from a .npy file: one (d,) or several (n, d) windows of one walker, of the index's model."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a .npy array of vectors ({error})") from None
    array = np.atleast_2d(np.asarray(array, np.float32))
    if array.ndim != 2 or array.shape[1] != dim or not np.isfinite(array).all():
        raise InputError(f"{path}: expected finite vectors of dimension {dim} (the index's model), got shape {array.shape}")
    return Query(array, model, f"vector {Path(path).name}")


# -- the search ----------------------------------------------------------------------------------------------


def search_index(
    folder: IndexFolder,
    query: Query,
    *,
    top: int = DEFAULT_TOP,
    target_fpir: float = DEFAULT_TARGET_FPIR,
    cohort: CohortSource | None = None,
    patience: int = PATIENCE,
    vectors: VectorIndex | None = None,
) -> SearchResult:
    """The query's appearances in the index, best first (see the module doc). cohort: how the user's gallery
    makes its cohort (`Gallery.cohort_for`), so that the search decides as it would (None: the one shipped
    with the model)."""
    if top < 1:
        raise InputError(f"--top must be at least 1, got {top}")
    settings = folder.settings()
    if query.model != settings.model:
        raise GaitidError(
            f"the query's vectors were made by {query.model!r}, the index's by {settings.model!r}: vectors of "
            "different models are never compared"
        )
    vectors = vectors or open_vectors(folder)
    with tempfile.TemporaryDirectory(prefix="gaitid-search-") as tmp:
        source = cohort if cohort is not None else CohortSource(query.model)
        with source.open_gallery(Path(tmp) / "query.db", target_fpir) as gallery:
            gallery.enroll(QUERY, [Embedding(v, query.model) for v in query.vectors])
            gallery.threshold(query.model)  # fails here, in one line, when the model has no cohort
            calibration = gallery.calibration(query.model)
            found, checked, complete = _decide_candidates(folder, vectors, query, gallery, patience)
    found.sort(key=lambda a: (-a.score, -a.similarity))
    ranked = [_ranked(a, i + 1) for i, a in enumerate(found)]
    return SearchResult(
        query.label, query.model, ranked[:top], max(0, len(ranked) - top), checked, vectors.count, complete,
        patience, target_fpir, calibration,
    )


def _decide_candidates(
    folder: IndexFolder, vectors: VectorIndex, query: Query, gallery: Gallery, patience: int
) -> tuple[list[Appearance], int, bool]:
    """Decide candidate tracks, most similar first, until `patience` in a row are not appearances."""
    found: list[Appearance] = []
    tables: dict[str, dict[int, dict]] = {}
    checked, misses, seen = 0, 0, 0
    k = min(vectors.count, max(4 * patience, 200))
    while True:
        rows, similarity = vectors.search(query.mean, k)
        for row, sim in zip(rows[seen:], similarity[seen:]):
            vid, track = vectors.key(int(row))
            if query.exclude == (vid, track):
                continue
            if vid not in tables:
                try:
                    tables[vid] = {r["track"]: r for r in folder.tracks(vid).to_pylist()}
                except InputError:  # its file went away since the vector index was built
                    tables[vid] = {}
            record = tables[vid].get(track)
            if record is None:  # the video was indexed again since: its tracks join at the next update
                continue
            evidence = TrackEvidence(query.model)
            for window in record["window_vectors"]:
                evidence.add(np.asarray(window, np.float32))
            identity = gallery.decide(evidence, top_k=1)
            checked += 1
            if identity.name == QUERY:
                misses = 0
                found.append(_appearance(record, identity.score, float(sim)))
            else:
                misses += 1
                if misses >= patience:
                    return found, checked, True
        seen = len(rows)
        if k >= vectors.count:
            return found, checked, True
        k = min(vectors.count, 2 * k)


def _appearance(record: dict, score: float, similarity: float) -> Appearance:
    first, last = record["first_time"], record["last_time"]
    return Appearance(
        0, record["video"], record["video_id"], record["camera"], record["track"], first, last,
        moment(record["start_time"], first), moment(record["start_time"], last), score, 1.0 - score, similarity,
        record["windows"], record["thumbnail"], record["thumbnail_time"],
    )


def _ranked(appearance: Appearance, rank: int) -> Appearance:
    from dataclasses import replace

    return replace(appearance, rank=rank)


# -- sinks ---------------------------------------------------------------------------------------------------


def result_json(result: SearchResult) -> dict:
    """The result as JSON: appearances with their thumbnail as a data: URL."""
    return {
        "query": result.query,
        "model": result.model,
        "target_fpir": result.target_fpir,
        "calibration": result.calibration,
        "tracks": result.tracks,
        "checked": result.checked,
        "complete": result.complete,
        "patience": result.patience,
        "more": result.more,
        "expected_false_appearances": round(result.expected_false, 2),
        "appearances": [
            {
                "rank": a.rank, "camera": a.camera, "video": a.video, "track": a.track,
                "first_time": round(a.first_time, 3), "last_time": round(a.last_time, 3), "start": a.start,
                "end": a.end, "score": round(a.score, 4), "fpir": round(a.fpir, 4),
                "similarity": round(a.similarity, 4), "windows": a.windows,
                "thumbnail": _data_url(a.thumbnail),
            }
            for a in result.appearances
        ],
    }


def _data_url(jpeg: bytes | None) -> str | None:
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def ending_text(result: SearchResult) -> str:
    """What the end of the list means, in one sentence."""
    if result.more:
        return f"{result.more} more appearances below these (raise --top to see them)"
    if not result.complete:
        return "the search stopped before the end of the candidates: there may be more appearances"
    if result.checked >= result.tracks - (1 if result.tracks else 0):
        return f"no more appearances: all {result.tracks} tracks of the index were checked"
    return (f"no more appearances: the next {result.patience} most similar tracks are below the threshold "
            f"({result.checked} of {result.tracks} tracks checked)")
