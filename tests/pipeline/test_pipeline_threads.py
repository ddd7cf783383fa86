"""The pipeline's threads: frames read ahead (pipeline.prefetched) and the annotated video encoded behind
(pipeline.AnnotatedVideo): in order, complete, errors passed on, early stops stop them."""

from __future__ import annotations

import threading
import time

import pytest

from gaitid.errors import InputError
from gaitid.pipeline import prefetched


def test_order_and_completeness() -> None:
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))


def test_an_error_of_the_reader_reaches_the_consumer_after_the_items_before_it() -> None:
    def frames():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise InputError("video breaks off after frame 2")

    seen = []
    with pytest.raises(InputError, match="breaks off"):
        for item in prefetched(frames()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_stops_the_reader() -> None:
    produced = []

    def endless():  # type: ignore[no-untyped-def]
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    before = threading.active_count()
    reader = prefetched(endless(), depth=2)
    assert next(reader) == 0
    reader.close()  # what a for loop broken by Ctrl-C does
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count  # nothing more is read
    assert threading.active_count() <= before


def test_an_encoding_error_surfaces_and_leaves_no_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from gaitid import pipeline
    from gaitid.pipeline import video as video_sink

    def broken(self, image):  # type: ignore[no-untyped-def]
        raise InputError("disk full")

    monkeypatch.setattr(video_sink.VideoWriter, "write", broken)
    out = tmp_path / "annotated.mp4"
    video = pipeline.AnnotatedVideo(str(out), 10.0)
    image = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(InputError, match="disk full"):
        for _ in range(50):
            video.write(image)
            time.sleep(0.01)
        video.close()
    video.close(keep=False)
    assert list(tmp_path.iterdir()) == []


def test_the_annotated_video_has_every_frame(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from gaitid.pipeline import AnnotatedVideo
    from gaitid.sources import VideoFile

    out = tmp_path / "annotated.mp4"
    video = AnnotatedVideo(str(out), 10.0)
    for level in range(25):
        video.write(np.full((48, 64, 3), level * 10, np.uint8))
    video.close()
    with VideoFile(out) as written:
        assert len(list(written)) == 25


class _Decoder:
    """A file-like source that, like a real decoder, must not be read once closed."""

    frame_count = 1000
    is_live = False

    def __init__(self) -> None:
        self.closed = False
        self.read_after_close = False

    def __iter__(self):  # type: ignore[no-untyped-def]
        import numpy as np

        from gaitid.types import Frame

        for i in range(self.frame_count):
            time.sleep(0.005)  # decoding takes a while
            if self.closed:
                self.read_after_close = True
            yield Frame(np.zeros((8, 8, 3), np.uint8), i, i / 25)

    def close(self) -> None:
        self.closed = True


class _NoOne:
    def reset(self) -> None:
        pass

    def estimate(self, frame):  # type: ignore[no-untyped-def]
        from gaitid.types import FramePeople

        return FramePeople(frame.index, frame.time, (), (frame.image.shape[0], frame.image.shape[1]))


def test_a_run_that_fails_midway_stops_the_reader_before_the_source_is_closed() -> None:
    """A cancelled job raises out of the frame callback; the caller then closes the source. The read-ahead
    thread must be stopped by then (a decoder closed under it crashed `gaitid serve`)."""
    from gaitid.pipeline import run_stream

    source = _Decoder()

    def on_frame(frame, people):  # type: ignore[no-untyped-def]
        if frame.index == 3:
            raise RuntimeError("job cancelled")

    try:
        run_stream(source, _NoOne(), on_frame, progress=False)
    except RuntimeError:  # checked here, while the failed run's frames are still alive, as in a caller's finally
        assert not [t for t in threading.enumerate() if t.name == "gaitid-frames" and t.is_alive()]
        source.close()
        time.sleep(0.1)
        assert not source.read_after_close
    else:
        raise AssertionError("the run should have failed")


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return min(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


def test_numpys_blas_runs_on_one_thread_once_frames_are_analysed() -> None:
    """The pose models' threads need the cores; BLAS threads spinning after the gallery's small products took
    them (benchmarks/RESULTS-pipeline.md). In a process of its own: the limit is process-wide."""
    import subprocess
    import sys

    script = """
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from gaitid.pipeline.stream import run_stream
from gaitid.types import Frame, FramePeople

def blas():
    return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})

class Estimator:
    def reset(self): pass
    def estimate(self, frame):
        return FramePeople(frame.index, frame.time, (), (frame.height, frame.width))

threadpool_limits(limits=2, user_api="blas")
before, seen = blas(), []
frames = [Frame(np.zeros((8, 8, 3), np.uint8), i, i / 10) for i in range(3)]
run_stream(frames, Estimator(), lambda frame, people: seen.append(blas()), progress=False)
print(before, seen, blas())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "[2] [[1], [1], [1]] [1]"
