"""Index an archive: every video's walkers tracked and embedded once, on a local pool of processes or on a
Ray cluster, with the same task (gaitid.batch.task.index_video) either way.

`index_archive(videos, index_dir, options, workers=N)` skips the videos the index already holds (done, or
failed unless `retry_failed`; a file whose size or modification time changed is indexed again), runs the
rest, calls `on_done(summary)` as each finishes (the command line's progress bar), and brings the
search index (gaitid.batch.vectors) up to date at the end: the new videos' tracks added to it. The driver holds no video data: tasks get a path and
return a summary.

A worker process that dies (killed, out of memory) takes only its video with it: the pool is started again
and that video retried, up to `retries` times, after which it is recorded as failed.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from gaitid.batch.store import IndexFolder, IndexSettings, VideoRecord, is_current, video_id
from gaitid.batch.task import VideoSummary, _failed, index_video
from gaitid.batch.vectors import VectorIndexInfo, update_vectors
from gaitid.errors import InputError
from gaitid.pipeline import PipelineOptions, encoder_for
from gaitid.sources.archive import ArchiveVideo

RETRIES = 2  # times a video is tried again after its worker died


@dataclass(frozen=True)
class IndexRun:
    """How an indexing run went: the videos it ran (their summaries), those it skipped, the search index."""

    ran: list[VideoSummary]
    skipped: int
    seconds: float
    vectors: VectorIndexInfo | None


def settings_for(options: PipelineOptions) -> IndexSettings:
    """The index settings of these pipeline options (loads the gait encoder to learn its model's name)."""
    encoder = encoder_for(options)
    return IndexSettings(
        model=encoder.model, modality=options.modality, window=options.window.size, stride=options.window.stride,
        pose_model=options.pose_model, detect_interval=options.detect_interval,
        extra=rates(options),
    )


def rates(options: PipelineOptions) -> dict[str, float]:
    """The frame rates an index keeps, so its windows span the same time in every video: the analysed rate
    ("max_fps"; absent: every frame) and the rate the window sizes count at ("window_rate"; absent: the
    source's frames, as indexes made before 2026-12-04 were)."""
    kept = {"max_fps": options.max_fps, "window_rate": options.window.rate}
    return {key: rate for key, rate in kept.items() if rate}


def to_do(folder: IndexFolder, videos: list[ArchiveVideo], retry_failed: bool = False) -> list[ArchiveVideo]:
    """The videos that are not finished in the index: new, changed since, or failed (when retried)."""
    records = folder.records()

    def finished(record: VideoRecord | None, video: ArchiveVideo) -> bool:
        if record is None or not is_current(record, video.path):
            return False
        return record.status == "done" or not retry_failed

    return [v for v in videos if not finished(records.get(video_id(v.path)), v)]


def index_archive(
    videos: list[ArchiveVideo],
    index_dir: str,
    options: PipelineOptions,
    *,
    workers: int = 1,
    ray_address: str | None = None,
    retry_failed: bool = False,
    on_start: Callable[[list[ArchiveVideo], int], None] | None = None,
    on_done: Callable[[VideoSummary], None] | None = None,
    retries: int = RETRIES,
) -> IndexRun:
    """Index `videos` into `index_dir` (see the module doc). on_start(videos to run, number skipped) is called
    once the work is known; on_done(summary) after each video."""
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    folder = IndexFolder(index_dir)
    folder.start(settings_for(options))
    pending = to_do(folder, videos, retry_failed)
    skipped = len(videos) - len(pending)
    if on_start is not None:
        on_start(pending, skipped)
    started = time.perf_counter()
    options = replace(options, progress=False)
    done: list[VideoSummary] = []

    def finished(summary: VideoSummary) -> None:
        done.append(summary)
        if on_done is not None:
            on_done(summary)

    if ray_address is not None:
        from gaitid.batch.cluster import index_on_ray

        index_on_ray(pending, index_dir, options, ray_address, finished, retries)
    elif workers == 1 or len(pending) <= 1:
        for video in pending:
            finished(index_video(video, index_dir, options))
    else:
        if options.threads is None:  # the cores shared out: more threads than cores only makes them wait
            options = replace(options, threads=max(1, (os.cpu_count() or 1) // workers))
        _run_pool(pending, index_dir, options, workers, finished, retries)
    vectors = update_vectors(folder)
    return IndexRun(done, skipped, time.perf_counter() - started, vectors)


def _run_pool(
    videos: list[ArchiveVideo],
    index_dir: str,
    options: PipelineOptions,
    workers: int,
    finished: Callable[[VideoSummary], None],
    retries: int,
) -> None:
    """The videos over a pool of `workers` processes; a pool broken by a dead worker is started again with
    the videos that had not finished."""
    attempts = {v.path: 0 for v in videos}
    queue = list(videos)
    context = multiprocessing.get_context("spawn")  # a clean process: no copied threads of onnxruntime
    while queue:
        with ProcessPoolExecutor(max_workers=min(workers, len(queue)), mp_context=context) as pool:
            running: dict[Future, ArchiveVideo] = {pool.submit(index_video, v, index_dir, options): v for v in queue}
            queue = []
            broken = False
            while running:
                completed, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in completed:
                    video = running.pop(future)
                    try:
                        finished(future.result())
                    except BrokenProcessPool:
                        broken = True
                        attempts[video.path] += 1
                        if attempts[video.path] > retries:
                            message = f"the worker process died {attempts[video.path]} times while indexing it"
                            finished(_failed(IndexFolder(index_dir), video, video_id(video.path), message, time.perf_counter()))
                        else:
                            queue.append(video)
                    except Exception as error:  # noqa: BLE001 - index_video records its own failures; anything else
                        # (a result that could not be sent back) fails this video alone, never the whole run
                        message = f"{type(error).__name__}: {' '.join(str(error).split())}"
                        finished(_failed(IndexFolder(index_dir), video, video_id(video.path), message, time.perf_counter()))
            if broken:  # every video of a broken pool ends with BrokenProcessPool: those not finished go again
                continue
