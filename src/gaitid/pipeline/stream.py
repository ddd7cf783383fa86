"""A source's frames through pose estimation and tracking.

`track_frames` is the loop, for any iterable of frames and any estimator with `estimate(frame) ->
FramePeople`; `run_stream` runs it over a source with a progress bar and a callback per frame, ending
cleanly on Ctrl-C or a source that fails partway, on every frame or every `step`-th (`analysis_step`);
`frame_range` keeps a part of a file.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from queue import Full, Queue
from typing import NamedTuple, Protocol

from gaitid import stopping
from gaitid.errors import GaitidError, InputError
from gaitid.tracking import Tracker
from gaitid.types import Frame, FramePeople


class PoseEstimator(Protocol):
    def estimate(self, frame: Frame) -> FramePeople: ...

    def reset(self) -> None: ...


def default_estimator(model: str = "full", detect_interval: int = 4, threads: int | None = None) -> PoseEstimator:
    """HumanPoseNN set up for video, imported only when needed.

    BlazePose's close-up detector is left off: in video people are found as they walk in, and on vtest.avi
    it costs time without changing the tracks (IDF1 0.932 with and without it). `detect_interval`: run
    the person detector on every n-th frame (in between, people are followed by their poses). `threads`:
    inference threads per model (None: gaitid.pose.runtime's default).
    """
    from gaitid.pose.estimator import HumanPoseNN

    return HumanPoseNN(model=model, detect_interval=detect_interval, threads=threads)


def track_frames(frames: Iterable[Frame], estimator: PoseEstimator, tracker: Tracker) -> Iterator[tuple[Frame, FramePeople]]:
    """For each frame, everyone in it with their track identity."""
    for frame in frames:
        people = estimator.estimate(frame)
        if people.frame_size == (0, 0):
            people = replace(people, frame_size=(frame.height, frame.width))
        yield frame, tracker.update(people)


@dataclass(frozen=True)
class StreamRun:
    """How a run over a source went: frames analysed, time taken, and how it ended. With a `step` over 1,
    only every step-th of the `frames_read` frames of the source was analysed."""

    frames: int
    seconds: float
    interrupted: bool
    error: GaitidError | None = None  # a live source that gave up, or a file that broke off, partway
    step: int = 1
    frames_read: int | None = None  # None: the frames analysed
    rate: float | None = None  # a live source analysed at most this many frames a second (by their times)
    dropped: int | None = None  # frames a live source dropped while the pipeline was busy (None: a file)

    @property
    def fps(self) -> float:
        """Frames of the source gone through per second, analysed or not."""
        read = self.frames if self.frames_read is None else self.frames_read
        return read / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        """E.g. "161 frames in 2.7 s (59.6 fps)", saying so when only every n-th was analysed."""
        read = self.frames if self.frames_read is None else self.frames_read
        subset = ""
        if self.step > 1:
            subset = f" ({self.frames} analysed, 1 in {self.step})"
        elif self.rate and read > self.frames:
            subset = f" ({self.frames} analysed, at most {self.rate:g} a second)"
        dropped = f"; {self.dropped} more dropped while the pipeline was busy" if self.dropped else ""
        return f"{read} frames{subset} in {self.seconds:.1f} s ({self.fps:.1f} fps){dropped}"


def analysis_step(fps: float | None, max_fps: float | None) -> int:
    """Analyse every n-th frame of a source of `fps` frames/s so that at most `max_fps` a second are: 1
    when either is unknown or the source is no faster (30 frames/s at most 15: 2; 25 at most 15: 2)."""
    if not fps or not max_fps or fps <= max_fps:
        return 1
    return math.ceil(fps / max_fps - 1e-6)


class Thinning(NamedTuple):
    """How a run analyses at most `max_fps` frames a second of a source: about one frame in `every`; a file
    by counting (every `step`-th), a live source by the frames' arrival times (`rate`; see AtMostPerSecond)."""

    every: int
    step: int
    rate: float | None


def thinning(source, max_fps: float | None) -> Thinning:  # type: ignore[no-untyped-def]
    """A source's `Thinning` (its `fps` may be unknown: then `every` is 1)."""
    every = analysis_step(getattr(source, "fps", None), max_fps)
    if getattr(source, "is_live", False):
        return Thinning(every, 1, max_fps or None)
    return Thinning(every, every, None)


class EveryNth:
    """Every `step`-th frame of `frames`, the first included, counting the frames read (`read`)."""

    def __init__(self, frames: Iterable[Frame], step: int) -> None:
        if step < 1:
            raise ValueError("step must be at least 1")
        self.frames, self.step, self.read = frames, step, 0

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.frames:
            self.read += 1
            if (self.read - 1) % self.step == 0:
                yield frame


class AtMostPerSecond:
    """The frames of a live source, at most about `rate` a second by their timestamps (arrival times),
    counting the frames read (`read`): a frame is analysed when 0.9 / rate seconds have passed since the
    last one analysed (the tenth of slack absorbs the jitter of arrivals). A live source hands over only its
    newest frame, so when the pipeline falls behind, the frames it gets are already sparse: counting every
    n-th of them would thin them again, while their times say whether they are due. A 30 frames/s camera
    at rate 15 gives every 2nd frame, a 25 frames/s one every 2nd (12.5 a second)."""

    def __init__(self, frames: Iterable[Frame], rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.frames, self.rate, self.read = frames, rate, 0

    def __iter__(self) -> Iterator[Frame]:
        gap = 0.9 / self.rate
        last = -math.inf
        for frame in self.frames:
            self.read += 1
            if frame.time - last >= gap:
                last = frame.time
                yield frame


def prefetched(frames: Iterable[Frame], depth: int = 4) -> Iterator[Frame]:
    """The frames of `frames`, read ahead on a thread of their own, so that decoding a file overlaps the
    network work of the frame before (it took one walker from 29.0 to 36.3 frames/s when the landmark model
    still ran on one thread; benchmarks/RESULTS-pipeline.md).
    Exceptions of the reader arrive at the consumer, in order; stopping early stops the reader."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        queue.put(frame, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            item: object = done
        except BaseException as error:  # handed over to the consumer, which raises it
            item = error
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    reader = threading.Thread(target=read, name="gaitid-frames", daemon=True)
    reader.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=30.0)  # one frame's decoding at most


def run_stream(
    source,
    estimator: PoseEstimator,
    on_frame: Callable[[Frame, FramePeople], None],
    progress: bool = True,
    step: int = 1,
    rate: float | None = None,
) -> StreamRun:  # type: ignore[no-untyped-def]
    """Pose estimation and tracking over every frame of `source` (or every `step`-th; or, `rate`, at most
    that many a second by the frames' times, for live sources), calling `on_frame(frame, people)` with each
    analysed frame's tracked people. Ctrl-C and a source that fails
    partway end the run cleanly: the returned StreamRun says how it ended, and what was done so far stays
    done. From the first run on, numpy's BLAS runs on one thread in this process (`one_blas_thread`)."""
    one_blas_thread()
    tracker = Tracker()
    estimator.reset()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=source.frame_count, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True)
    count = 0
    interrupted = False
    error: GaitidError | None = None
    start = time.perf_counter()
    frames = source if getattr(source, "is_live", False) else prefetched(source)  # live: its own reader
    subset = AtMostPerSecond(frames, rate) if rate else EveryNth(frames, step)
    stream = track_frames(subset, estimator, tracker)
    try:
        with stopping.checked():  # the command line's Ctrl-C and SIGTERM: a flag checked here, not an exception
            for frame, people in stream:
                on_frame(frame, people)
                count += 1
                if bar is not None:
                    bar.update(subset.read - bar.n)
                if stopping.requested():
                    break
            interrupted = stopping.requested()  # also when a live source's wait ended for it
    except KeyboardInterrupt:
        interrupted = True
    except GaitidError as failure:
        error = failure
    finally:
        # Stop and join the read-ahead thread now, on every way out (a cancelled job raises through here):
        # the caller closes the source next, and a decoder closed under a reading thread crashes the process.
        stream.close()
        if frames is not source:
            frames.close()
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    read = subset.read if step > 1 or rate else None
    dropped = getattr(source, "frames_dropped", None)
    return StreamRun(count, seconds, interrupted, error, step=step, frames_read=read, rate=rate, dropped=dropped)


_blas_lock = threading.Lock()
_blas_limited = False


def one_blas_thread() -> None:
    """Hold numpy's BLAS to one thread from the first run that analyses frames in this process on: the pose
    models' threads need the cores, and BLAS threads that spin after each of the gallery's small products
    took them (4-8 % less CPU in paired runs, wall time within noise on an idle machine and the gallery's
    decisions 4.7 times faster on a busy one; benchmarks/RESULTS-pipeline.md, issue 19's fifth pass).
    Process-wide and not undone: OpenBLAS did not take its threads back when another thread restored them,
    and a process that analyses video (the command line, the server) wants it so throughout."""
    global _blas_limited
    with _blas_lock:
        if not _blas_limited:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _blas_limited = True


MAX_THREADS = 256


def check_threads(detect_interval: int, threads: int | None) -> None:
    if detect_interval < 1:
        raise InputError(f"--detect-every must be at least 1, got {detect_interval}")
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise InputError(f"--threads must be between 1 and {MAX_THREADS}, got {threads}")


_FRAME_RANGE = re.compile(r"\s*(\d*)\s*:\s*(\d*)\s*", re.ASCII)  # ASCII: int() would also read "٣"


def parse_frame_range(text: str | None, option: str = "--frames") -> tuple[int, int | None]:
    """"A:B" (frames A to B-1), "A:" or ":B" -> (A, B or None). `option`: what errors call it."""
    if text is None:
        return 0, None
    match = _FRAME_RANGE.fullmatch(text)
    if match is None:
        raise InputError(f"{option} expects FIRST:END frame numbers such as 0:300, got {text!r}")
    start = int(match[1] or 0)
    stop = int(match[2]) if match[2] else None
    if stop is not None and stop <= start:
        raise InputError(f"{option} expects FIRST:END with 0 <= FIRST < END, got {text!r}")
    return start, stop


class FrameRange:
    """The frames [first, end) of a source, keeping its frame_count right for the progress bar."""

    def __init__(self, source, first: int, end: int | None) -> None:  # type: ignore[no-untyped-def]
        self.source, self.first, self.end = source, first, end
        total = source.frame_count
        self.frame_count = None if total is None else max(0, min(total, end or total) - first)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for frame in self.source:
            if self.end is not None and frame.index >= self.end:
                return
            if frame.index >= self.first:
                yield frame


def frame_range(source, first: int, end: int | None):  # type: ignore[no-untyped-def]
    """`source` itself, or its frames [first, end)."""
    return source if (first, end) == (0, None) else FrameRange(source, first, end)


