"""Indexing on a Ray cluster: one task per video, the same task as the local pool (gaitid.batch.task).

Ray is an optional extra (`pip install 'gaitid[cluster]'`). Every node needs gaitid installed and the index
folder and the videos at the same paths (a shared file system): a task reads its video and writes its
video's file in the index itself, atomically, and returns only a summary, so the driver holds no video
data and a task retried after its worker died replaces its own file instead of adding rows. Ray retries a
task whose worker died (`retries` times); a video whose tasks all died is recorded as failed by the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from gaitid.batch.store import IndexFolder, video_id
from gaitid.batch.task import VideoSummary, _failed, index_video
from gaitid.errors import GaitidError, InputError
from gaitid.pipeline import PipelineOptions
from gaitid.sources.archive import ArchiveVideo


def _ray():  # type: ignore[no-untyped-def]
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'gaitid[cluster]'") from None
    return ray


def index_on_ray(
    videos: list[ArchiveVideo],
    index_dir: str,
    options: PipelineOptions,
    address: str,
    finished: Callable[[VideoSummary], None],
    retries: int,
) -> None:
    """Run index_video for each video as a Ray task on the cluster at `address` ("auto": the one running
    on this machine, or $RAY_ADDRESS), or on the cluster this process is already connected to."""
    ray = _ray()
    connected_here = False
    if not ray.is_initialized():
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as error:
            raise GaitidError(f"cannot connect to the Ray cluster at {address}: {' '.join(str(error).split())}") from None
        connected_here = True
    try:
        if options.threads is None:  # Ray runs one task per CPU it schedules: one thread per model each
            options = replace(options, threads=1)
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(index_video)
        shared = ray.put(options)  # once, by reference
        running = {task.remote(video, index_dir, shared): video for video in videos}
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                video = running.pop(ref)
                try:
                    summary = ray.get(ref)
                except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError, ray.exceptions.RayError) as error:
                    message = f"the Ray task failed after {retries} retries: {type(error).__name__}"
                    summary = _failed(IndexFolder(index_dir), video, video_id(video.path), message, time.perf_counter())
                finished(summary)
    finally:
        if connected_here:
            ray.shutdown()
