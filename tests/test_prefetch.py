"""pipeline.prefetched: frames read ahead on a thread, in order, errors passed on, early stops stop it."""

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
