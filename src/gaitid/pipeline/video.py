"""Sinks that draw: the annotated video (written atomically, encoded on a thread of its own) and the labels
on each walker's box, with the legend that explains them."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from queue import Queue

import numpy as np

from gaitid.errors import GaitidError, InputError
from gaitid.outputs import atomic_path, check_output
from gaitid.pipeline.walkers import Walkers, WalkerState, WindowSpec, windows_text
from gaitid.pose.drawing import draw_people
from gaitid.sources import VideoWriter
from gaitid.types import Frame, FramePeople


class AnnotatedVideo:
    """An H.264 MP4 opened at the first frame (when the frame size is known) and written atomically:
    `close(keep=False)` (or a failure before close) leaves no file and no earlier file clobbered.

    Frames are encoded on a thread of their own (a few frames behind), so that encoding overlaps the
    networks' work on the next frame; an encoding error surfaces at the next write or at close.
    """

    def __init__(self, path: str | None, fps: float | None, depth: int = 8) -> None:
        if path is not None and Path(path).suffix.lower() != ".mp4":
            raise InputError(f"{path}: annotated video must be written as .mp4")
        self.path = path
        self.fps = fps or 10.0
        self._atomic = None
        self._writer: VideoWriter | None = None
        self._queue: Queue = Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, image: np.ndarray) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._atomic = atomic_path(self.path)
            tmp = self._atomic.__enter__()
            self._writer = VideoWriter(tmp, self.fps, image.shape[1], image.shape[0])
            self._thread = threading.Thread(target=self._encode, args=(self._writer,), name="gaitid-video", daemon=True)
            self._thread.start()
        if self._error is not None:
            raise self._error
        self._queue.put(image)

    def _encode(self, writer: VideoWriter) -> None:
        while (image := self._queue.get()) is not None:
            if self._error is None:
                try:
                    writer.write(image)
                except BaseException as error:  # handed to the producer at its next write or at close
                    self._error = error

    def close(self, keep: bool = True) -> None:
        """Finish the file (keep=True) or drop it. Raises the encoding error, if any, when keeping."""
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        self._queue.put(None)
        self._thread.join()
        error = self._error
        if keep and error is None:
            try:
                writer.close()
            except BaseException as failure:
                error = failure
        else:
            with contextlib.suppress(Exception):  # the file is dropped: how it ends does not matter
                writer.close()
        if keep and error is None:
            self._atomic.__exit__(None, None, None)
            return
        dropped = error or GaitidError("annotated video dropped")
        self._atomic.__exit__(type(dropped), dropped, None)
        if keep:
            raise error


def check_outputs(source_spec: str, out: str | None = None, json_path: str | None = None) -> None:
    """The annotated video (.mp4) and the JSON (.json, or - for stdout), checked before any work is done:
    each must be a file that can be written, and none may be the input."""
    if out is not None:
        check_output(out, [source_spec], suffixes=(".mp4",))
    if json_path is not None and json_path != "-":
        check_output(json_path, [source_spec], suffixes=(".json",))



def annotate(frame: Frame, people: FramePeople, walkers: Walkers) -> np.ndarray:
    """The frame with each tracked person's box, skeleton, and current answer drawn above them."""
    shown = [p for p in people.people if p.track_id is not None]
    labels = [walker_label(walkers.states.get(p.track_id), walkers.window) for p in shown]
    return draw_people(frame.image, shown, labels)


LABEL_LEGEND = (
    "What the labels on the boxes of an annotated video mean:",
    "#3             track 3: a number for each walker, new in each run (not a person's identity)",
    "#3 12/30       gathering silhouettes: 12 of the 30 usable frames a first gait vector needs",
    "#3 ada 0.99    the answer so far and its score: 1 - the share of strangers who score as high (0.99: 1 in 100)",
    "#3 unknown 0.42  nobody enrolled walks like this more than a stranger might",
    "#3 2 windows   enrolling: the gait vectors made so far (one per window of 30 usable frames)",
)


def walker_label(state: WalkerState | None, window: WindowSpec) -> str:
    if state is None:
        return ""
    head = f"#{state.track_id}"
    identity = state.identity
    if identity is not None:
        return f"{head} {identity.name or 'unknown'} {identity.score:.2f}"
    if state.vectors:  # enrolment: vectors, no gallery
        return f"{head} {windows_text(state.windows)}"
    return f"{head} {min(len(state.recent), window.size)}/{window.size}"
