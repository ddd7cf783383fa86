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

    def broken(self, image):  # type: ignore[no-untyped-def]
        raise InputError("disk full")

    monkeypatch.setattr(pipeline.VideoWriter, "write", broken)
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
