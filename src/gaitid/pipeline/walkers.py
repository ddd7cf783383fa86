"""From tracked people to identified walkers: sliding windows of silhouettes, vectors, and evidence.

`Walkers.update(people)` takes each frame's tracked people (HumanPoseNN + Tracker) and keeps, per track,
the normalised silhouettes of its *usable* frames. A frame is usable when the person has a silhouette,
is at least `WindowSpec.min_height` pixels tall and does not touch the frame's border (a walker cut by the
border has a cut silhouette, which would read as another gait).

Windows: every `stride` usable frames, once a track has `size` of them, its last `size` usable silhouettes
are embedded by the gait model into one vector. The defaults count frames at 15 a second, the rate the
pipeline analyses by default (`PipelineOptions.max_fps`): 20 silhouettes every 10, 1.3-1.6 s of a 25-60
frames/s camera (two to three gait cycles), 2 s of vtest's 10 frames/s. A run that analyses another rate
cuts the same time spans from the frames it analyses (`WindowSpec.analysed`): 40 silhouettes every 20 when
every frame of a 30 frames/s camera is analysed (`--max-fps 0`).

Evidence: with a gallery, every window's vector is added to the track's `TrackEvidence` and the gallery
decides (`Gallery.decide`, the one decision every caller goes through): each window scored against every
enrolled person and normalised against a cohort of people never enrolled, the mean over all the track's
windows so far, and a name only when the estimated false-positive identification rate at that evidence is
within the gallery's target. The answer firms up as the person keeps walking, and changes only when a new
answer holds for two windows in a row (see gaitid.gallery.evidence). With `footage_null` (the default), a
walker must also outscore the windows so far of the run's other walkers against the person they would be
named as: the same camera's people, most of them not enrolled (benchmarks/RESULTS-openset.md, "The
footage's walkers as a null, against the candidate only").

A track that has not been seen for `leave_after` seconds has left: its answer is final.

Memory stays bounded on a live camera: a track keeps the vectors (and scores) of its last `max_windows`
windows (default 240: about two minutes in view), so someone who stays in view for an hour is judged on
their last two minutes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from gaitid.errors import GaitidError
from gaitid.gait.normalize import normalize_silhouette
from gaitid.gallery.evidence import TrackEvidence
from gaitid.pipeline.stream import analysis_step
from gaitid.types import Embedding, FramePeople, Identity, Person, Walk

EDGE_MARGIN = 2.0  # pixels: a box this close to the frame's border touches it


MAX_WINDOW = 1000  # usable frames: over half a minute of walking at 30 frames/s, far past any use
#: The rate the default windows count frames at: the pipeline's default analysis rate (`PipelineOptions.max_fps`),
#: chosen with the windows' length (benchmarks/GAIT_RESULTS.md, "Windows of 20 frames at 15 a second").
WINDOW_RATE = 15.0


def windows_text(count: int) -> str:
    """How many windows of a walk have been seen, in words ("1 window", "3 windows")."""
    return f"{count} window" if count == 1 else f"{count} windows"


@dataclass(frozen=True)
class WindowSpec:
    """size: usable frames per window; stride: usable frames between windows; min_height: the least box
    height in pixels for a usable frame. Size and stride count the frames a run analysing at most `rate` a
    second keeps (every 2nd frame of a 25-30 frames/s camera at 15), or the source's own frames when `rate`
    is None; a run that analyses other frames cuts windows of the same time span (`analysed`)."""

    size: int = 20
    stride: int = 10
    min_height: float = 40.0
    rate: float | None = WINDOW_RATE

    def __post_init__(self) -> None:
        if not (1 <= self.size <= MAX_WINDOW and 1 <= self.stride <= MAX_WINDOW):
            raise ValueError(
                f"window size and stride must be between 1 and {MAX_WINDOW} frames, "
                f"got {self.size} and {self.stride}"
            )

    def analysed(self, every: int, fps: float | None = None) -> WindowSpec:
        """The same window in time, in the frames of a run that analyses every `every`-th frame of a source
        of `fps` frames/s: 30 / 15 source frames at every 2nd frame are 15 / 8 analysed frames (one second
        of a 30 frames/s camera either way); 20 / 10 frames at 15 a second are 40 / 20 analysed frames when
        every frame of a 25-30 frames/s camera is analysed."""
        scale = Fraction(analysis_step(fps, self.rate), max(every, 1))
        if scale == 1:
            return self
        return replace(self, size=math.ceil(self.size * scale), stride=math.ceil(self.stride * scale))


@dataclass(frozen=True)
class Answer:
    """The identity of a track after a number of windows, as it evolved (one per window)."""

    frame_index: int
    time: float
    windows: int
    identity: Identity


@dataclass(frozen=True)
class WalkerEvent:
    """kind: "identified" (the first answer, or a different name than before) or "left" (the track ended)."""

    kind: str
    track_id: int
    frame_index: int
    time: float
    identity: Identity | None


class UsableFrame(NamedTuple):
    """What a window keeps of a usable frame: the normalised silhouette (when the encoder reads
    silhouettes), the keypoints and the time."""

    silhouette: np.ndarray | None
    keypoints: np.ndarray
    time: float


@dataclass
class WalkerState:
    """What is known about one track so far."""

    track_id: int
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    frames: int = 0
    usable: int = 0
    evidence: TrackEvidence = field(default_factory=lambda: TrackEvidence(""))
    recent: deque = field(default_factory=deque)  # the last `size` usable frames (UsableFrame)
    since_window: int = 0
    history: list[Answer] = field(default_factory=list)
    first_box: tuple[float, float, float, float] | None = None  # where the walker was first seen
    last_person: Person | None = None
    ended: bool = False

    @property
    def identity(self) -> Identity | None:
        return self.history[-1].identity if self.history else None

    @property
    def vectors(self) -> list[np.ndarray]:
        """The vectors of the track's last `max_windows` windows."""
        return self.evidence.vectors

    @property
    def windows(self) -> int:
        """Windows made so far (the last `max_windows` of them are kept)."""
        return self.evidence.windows

    def embeddings(self, model: str, size: int) -> list[Embedding]:
        return [Embedding(vector=v, model=model, num_frames=size) for v in self.vectors]


class Walkers:
    """Per-track windows, vectors and identities over a stream of tracked frames.

    encoder: any gait encoder (gaitid.gait.Encoder: `embed(walk) -> Embedding`, `model`, `silhouette_size`):
        silhouettes, skeletons or both fused. A window the encoder cannot embed (too few confident
        keypoints for a skeleton model) makes no vector.
    gallery: a Gallery to identify against, or None to only compute vectors (enrolment).
    footage_null: decide each walker with the other walkers still held (every track of a file; those in view
        of a live run, which forgets the others) as a null (see the module doc).
    """

    def __init__(  # type: ignore[no-untyped-def]
        self, encoder, gallery=None, window: WindowSpec | None = None, leave_after: float = 2.0, max_windows: int = 240,
        footage_null: bool = True,
    ) -> None:
        self.encoder = encoder
        self.footage_null = footage_null
        self.max_windows = max_windows
        self.gallery = gallery
        self.spec = window or WindowSpec()  # as given (see `WindowSpec.rate`)
        self.window = self.spec  # in the frames analysed (see `analysing_every`)
        self.leave_after = float(leave_after)
        self.states: dict[int, WalkerState] = {}

    def analysing_every(self, step: int, fps: float | None = None) -> None:
        """Cut windows for a run that analyses every `step`-th frame of a source of `fps` frames/s: the same
        time spans (`WindowSpec.analysed`). `analyse` calls it once the source is open."""
        self.window = self.spec.analysed(step, fps)

    def update(self, people: FramePeople) -> list[WalkerEvent]:
        """Add one frame's tracked people; returns the events it caused (answers formed, tracks left)."""
        events: list[WalkerEvent] = []
        height, width = people.frame_size
        for person in people.people:
            if person.track_id is None:
                continue
            state = self.states.get(person.track_id)
            if state is None or state.ended:
                state = self.states[person.track_id] = WalkerState(
                    person.track_id, people.frame_index, people.time, people.frame_index, people.time,
                    evidence=TrackEvidence(self.encoder.model, self.max_windows),
                )
            state.last_frame, state.last_time, state.last_person = people.frame_index, people.time, person
            if state.first_box is None:
                state.first_box = tuple(round(float(v), 1) for v in person.box)
            state.frames += 1
            if not self.is_usable(person, height, width):
                continue
            state.usable += 1
            state.recent.append(UsableFrame(self._silhouette(person), person.keypoints, people.time))
            if len(state.recent) > self.window.size:
                state.recent.popleft()
            state.since_window += 1
            if len(state.recent) == self.window.size and (not state.vectors or state.since_window >= self.window.stride):
                event = self._add_window(state, people.frame_index, people.time)
                if event is not None:
                    events.append(event)
        for state in self.states.values():
            if not state.ended and people.time - state.last_time > self.leave_after:
                events.append(self._end(state, people.frame_index, people.time))
        return events

    def finish(self) -> list[WalkerEvent]:
        """End every track still in view (the end of a file, or of a live run)."""
        return [self._end(s, s.last_frame, s.last_time) for s in self.states.values() if not s.ended]

    def visible(self, frame_index: int) -> list[WalkerState]:
        return [s for s in self.states.values() if s.last_frame == frame_index]

    def is_usable(self, person: Person, height: int, width: int) -> bool:
        """Whether a person in a frame of (height, width) makes a usable frame (see the module doc)."""
        if person.mask is None:
            return False
        x1, y1, x2, y2 = (float(v) for v in person.box)
        if y2 - y1 < self.window.min_height:
            return False
        return not (
            height
            and width
            and (x1 <= EDGE_MARGIN or y1 <= EDGE_MARGIN or x2 >= width - EDGE_MARGIN or y2 >= height - EDGE_MARGIN)
        )

    def _silhouette(self, person: Person) -> np.ndarray | None:
        size = self.encoder.silhouette_size
        return None if size is None else normalize_silhouette(person.mask, *size)

    def _walk(self, frames: deque) -> Walk:
        silhouettes = None if frames[0].silhouette is None else np.stack([f.silhouette for f in frames])
        return Walk(
            silhouettes=silhouettes,
            keypoints=np.stack([f.keypoints for f in frames]).astype(np.float32),
            times=np.array([f.time for f in frames]),
        )

    def _add_window(self, state: WalkerState, frame_index: int, time: float) -> WalkerEvent | None:
        state.since_window = 0
        try:
            embedding = self.encoder.embed(self._walk(state.recent))
        except GaitidError:  # this window holds too little for the encoder (a skeleton seen too poorly)
            return None
        state.evidence.add(embedding.vector)
        if self.gallery is None:
            return None
        previous = state.identity
        identity = self.gallery.decide(state.evidence, footage=self.footage(state))
        state.history.append(Answer(frame_index, time, state.windows, identity))
        if previous is None or previous.name != identity.name:
            return WalkerEvent("identified", state.track_id, frame_index, time, identity)
        return None

    def footage(self, state: WalkerState) -> list[TrackEvidence]:
        """The evidence of every other walker held, least recently seen first (none without `footage_null`)."""
        if not self.footage_null:
            return []
        others = sorted((s for s in self.states.values() if s is not state), key=lambda s: s.last_frame)
        return [s.evidence for s in others]

    def forget_ended(self) -> None:
        """Drop the tracks that have left (a live run keeps only who is in view)."""
        self.states = {k: s for k, s in self.states.items() if not s.ended}

    def _end(self, state: WalkerState, frame_index: int, time: float) -> WalkerEvent:
        state.ended = True
        state.recent.clear()
        if self.gallery is not None and state.identity is not None:
            identity = state.identity
            self.gallery.record(identity, self.encoder.model)
        return WalkerEvent("left", state.track_id, frame_index, time, state.identity)
