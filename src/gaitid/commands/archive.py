"""`gaitid index` and `gaitid search`: the archive commands. They check inputs and outputs before the work,
call gaitid.batch, show progress and print the results; gaitid.batch itself prints nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gaitid.errors import GaitidError, InputError
from gaitid.outputs import atomic_path, check_output, counted, write_json
from gaitid.pipeline import PipelineOptions, check_threads


def run_index(
    inputs: list[str],
    index: str,
    options: PipelineOptions,
    *,
    manifest: str | None = None,
    workers: int | None = None,
    ray: str | None = None,
    retry_failed: bool = False,
) -> int:
    """Index the videos of `inputs` into the folder `index`; one line per failed video, a summary at the end.
    Exit status 2 when any of the videos is recorded as failed in the index (after all were tried)."""
    from gaitid.batch import IndexFolder, index_archive, list_archive, video_id

    check_threads(options.detect_interval, options.threads)
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    folder = IndexFolder(index)
    if folder.path.exists() and any(folder.path.iterdir()) and not folder.exists():
        raise InputError(f"{index}: a folder that is not a gaitid index; give a new or empty folder, or an index")
    check_output(folder.path / "index.json")  # a place where the index can be written, before any work
    videos = list_archive(inputs, manifest)
    bar = None
    finished = 0
    sizes: dict[str, int] = {}  # the bar counts bytes of video: its time left holds for videos of any length

    def started(to_run: list, skipped: int) -> None:  # type: ignore[type-arg]
        nonlocal bar
        if skipped:
            print(f"{counted(skipped, 'video')} already indexed: skipped", file=sys.stderr)
        if options.progress and to_run:
            from tqdm import tqdm

            sizes.update({v.path: _size(v.path) for v in to_run})
            bar = tqdm(total=sum(sizes.values()), unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                       dynamic_ncols=True, postfix=f"0/{len(to_run)} videos")

    def done(summary) -> None:  # type: ignore[no-untyped-def]
        nonlocal finished
        finished += 1
        if summary.status == "failed":
            line = f"{summary.video}: failed: {summary.error}"
            if bar is not None:
                bar.write(line, file=sys.stderr)
            else:
                print(line, file=sys.stderr)
        if bar is not None:
            bar.set_postfix_str(f"{finished}/{len(sizes)} videos", refresh=False)
            bar.update(sizes.get(summary.video, 0))

    try:
        run = index_archive(
            videos, index, options, workers=workers, ray_address=ray, retry_failed=retry_failed,
            on_start=started, on_done=done,
        )
    finally:
        if bar is not None:
            bar.close()
    tracks = sum(s.tracks for s in run.ran)
    frames = sum(s.frames for s in run.ran)
    ok = [s for s in run.ran if s.status == "done"]
    vectors = run.vectors
    how = ""
    if run.ran and vectors is not None and vectors.added and vectors.count:  # this run made a generation
        how = " (the vector index built from every track)" if vectors.rebuilt else f" ({vectors.added} added to the vector index)"
    print(
        f"{index}: indexed {counted(len(ok), 'video')} ({counted(tracks, 'track')}, {frames} frames) in "
        f"{run.seconds:.1f} s; {counted(vectors.count if vectors else 0, 'track')} searchable{how}",
        file=sys.stderr,
    )
    records = folder.records()
    failed = [records[video_id(v.path)] for v in videos if records.get(video_id(v.path)) and records[video_id(v.path)].status == "failed"]
    reported = {s.video for s in run.ran}
    for record in failed:
        if record.video not in reported:
            print(f"{record.video}: failed when indexed before: {record.error}", file=sys.stderr)
    if failed:
        raise GaitidError(
            f"{len(failed)} of {counted(len(videos), 'video')} could not be indexed (their errors are above and in "
            f"the index); gaitid index --retry-failed tries them again"
        )
    return 0


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # it fails when indexed, with its own error


def run_search(
    index: str,
    *,
    person: str | None = None,
    video: str | None = None,
    track: int | None = None,
    vector: str | None = None,
    top: int = 20,
    target_fpir: float = 0.01,
    json_path: str | None = None,
    html_path: str | None = None,
    gallery_path: str | None = None,
    key_file: str | None = None,
) -> int:
    """Search the index for a person of the gallery, a walker of a video (indexed, or run through the pipeline
    here) or vectors; print the appearances."""
    from gaitid.batch import (
        IndexFolder, clip_query, is_indexed, person_query, result_json, search_index, track_query, vector_query,
    )
    from gaitid.batch.report import report_html
    from gaitid.batch.search import ending_text

    chosen = [name for name, given in (("--person", person), ("--video", video), ("--vector", vector)) if given is not None]
    if len(chosen) != 1:
        raise InputError("give one of --person NAME, --video FILE [--track ID] or --vector FILE")
    if track is not None and video is None:
        raise InputError("--track goes with --video: the track of that video to search for")
    if top < 1:
        raise InputError(f"--top must be at least 1, got {top}")
    folder = IndexFolder(index)
    settings = folder.settings()  # an index, before anything else
    from gaitid.batch.store import stale_direction_note

    note = stale_direction_note(index, settings)
    if note is not None:
        print(f"gaitid: note: {note}", file=sys.stderr)
    if json_path is not None and json_path != "-":
        check_output(json_path, suffixes=(".json",))
    if html_path is not None:
        check_output(html_path, suffixes=(".html", ".htm"))
    gallery = None
    if person is not None or gallery_path is not None:
        from gaitid.commands.identify import _open_gallery

        gallery = _open_gallery(gallery_path, key_file, "cosine", target_fpir)
    try:
        if person is not None:
            query = person_query(gallery, person, settings.model)
        elif video is not None and is_indexed(folder, video):
            query = track_query(folder, video, track)
        elif video is not None:
            from gaitid.pipeline import SeveralWalkers
            from gaitid.sources.files import VideoFile

            with VideoFile(video):  # a readable video, before announcing the run
                pass
            print(f"{video} is not in the index: finding its walkers with the index's settings", file=sys.stderr)
            try:
                query = clip_query(video, track, settings)
            except SeveralWalkers as several:
                raise InputError(f"{several} with --track ID (gaitid track {video} --out tracked.mp4 shows them)") from None
        else:
            from gaitid.batch import open_vectors

            query = vector_query(vector, settings.model, open_vectors(folder).info.dim)
        cohort = gallery.cohort_for(settings.model) if gallery is not None else None
        result = search_index(folder, query, top=top, target_fpir=target_fpir, cohort=cohort)
    finally:
        if gallery is not None:
            gallery.close()
    if json_path is not None:
        write_json(result_json(result), json_path)
    if html_path is not None:
        with atomic_path(html_path) as tmp:
            tmp.write_text(report_html(result), encoding="utf-8")
    stream = sys.stderr if json_path == "-" else sys.stdout
    for a in result.appearances:
        when = f"{a.first_time:7.1f}-{a.last_time:<7.1f}s" + (f" ({a.start})" if a.start else "")
        print(f"{a.rank:>3}  {a.score:.3f}  {a.camera:<12} {Path(a.video).name:<28} track {a.track:<4} {when}", file=stream)
    if not result.appearances:
        print(f"no appearance of {result.query} at a false-positive rate of {target_fpir:g}", file=stream)
    print(f"{ending_text(result)}; about {result.expected_false:.1f} strangers' tracks expected to pass by chance "
          f"over {counted(result.tracks, 'track')} at {target_fpir:g}", file=sys.stderr)
    return 0
