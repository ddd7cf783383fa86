"""Walkers: which frames are usable, when windows are cut, how evidence builds up and when tracks end.

A stand-in encoder makes each window's vector from what the silhouettes say (a "person code" painted
into the mask), so the tests control who each window looks like; the gallery is the real one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitid.gallery import Gallery
from gaitid.pipeline.walkers import Walkers, WindowSpec
from gaitid.types import Embedding, FramePeople, Person, Walk

DIM = 8


class CodeEncoder:
    """Window vector = one-hot of the person code, read from the silhouettes' width (plus a little noise)."""

    model = "code/1"
    silhouette_size = (64, 44)

    def __init__(self) -> None:
        self.windows: list[int] = []
        self.rng = np.random.default_rng(0)

    def embed(self, walk: Walk) -> Embedding:
        silhouettes = walk.silhouettes
        assert walk.keypoints is not None and walk.times is not None and len(walk.times) == len(silhouettes)
        self.windows.append(len(silhouettes))
        widths = silhouettes.sum(axis=(1, 2)) / silhouettes.shape[1]
        code = int(round(float(np.median(widths)))) % DIM
        return Embedding(one_hot(code) + 0.05 * self.rng.standard_normal(DIM).astype(np.float32), self.model, len(silhouettes))


def one_hot(code: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[code] = 1.0
    return v


def person(track: int, code: int, x: float = 100.0, height: float = 120.0, mask: bool = True) -> Person:
    """A walker whose silhouette is a bar `code` pixels wide (after normalisation to 64 rows, see encoder)."""
    box = np.array([x, 50, x + 40, 50 + height], np.float32)
    sil = None
    if mask:
        sil = np.zeros((64, 44), np.float32)
        sil[:, 10 : 10 + code] = 1.0
    return Person(
        box=box, score=0.9, keypoints=np.zeros((33, 3), np.float32), mask=sil,
        mask_box=None if sil is None else np.array([0, 0, 44, 64], np.int32), track_id=track,
    )


def frame(index: int, *people: Person, fps: float = 10.0) -> FramePeople:
    return FramePeople(index, index / fps, tuple(people), (480, 640))


@pytest.fixture
def gallery(tmp_path: Path) -> Gallery:
    g = Gallery.open(tmp_path / "g.db", audit_identifications=False)
    for name, code in (("ann", 3), ("bob", 5), ("cy", 7)):
        g.enroll(name, [Embedding(one_hot(code) + 0.05 * k, "code/1") for k in range(3)])
    yield g
    g.close()


def test_windows_are_cut_every_stride_usable_frames_once_full() -> None:
    encoder = CodeEncoder()
    walkers = Walkers(encoder, None, WindowSpec(size=10, stride=5))
    for i in range(30):
        walkers.update(frame(i, person(1, 3)))
    state = walkers.states[1]
    assert state.frames == state.usable == 30
    assert len(state.vectors) == 5  # after 10, 15, 20, 25, 30 usable frames
    assert encoder.windows == [10] * 5


def test_a_keypoint_encoder_gets_keypoints_and_times_and_a_window_it_cannot_embed_is_skipped() -> None:
    """An encoder that reads no silhouettes (a skeleton model) gets none; a window it refuses (too few
    confident keypoints) makes no vector instead of ending the run."""
    from gaitid.errors import GaitidError

    class Keypoints:
        model, silhouette_size = "kp/1", None

        def __init__(self) -> None:
            self.calls = 0

        def embed(self, walk: Walk) -> Embedding:
            self.calls += 1
            assert walk.silhouettes is None and walk.keypoints.shape == (10, 33, 3)
            assert np.allclose(np.diff(walk.times), 0.1)
            if self.calls % 2:
                raise GaitidError("too few frames with a usable skeleton")
            return Embedding(one_hot(1), self.model, len(walk))

    encoder = Keypoints()
    walkers = Walkers(encoder, None, WindowSpec(size=10, stride=5))
    for i in range(30):
        walkers.update(frame(i, person(1, 3)))
    assert encoder.calls == 5 and len(walkers.states[1].vectors) == 2


def test_unusable_frames_are_left_out() -> None:
    walkers = Walkers(CodeEncoder(), None, WindowSpec(size=5, stride=5, min_height=40))
    walkers.update(frame(0, person(1, 3, x=1.0)))  # touches the left border
    walkers.update(frame(1, person(1, 3, height=30)))  # too small
    walkers.update(frame(2, person(1, 3, mask=False)))  # no silhouette
    walkers.update(frame(3, person(1, 3)))
    state = walkers.states[1]
    assert (state.frames, state.usable, len(state.vectors)) == (4, 1, 0)


def test_a_walker_is_named_once_and_the_evidence_is_the_mean_over_windows(gallery: Gallery) -> None:
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5), leave_after=1.0)
    events = []
    for i in range(20):
        events += walkers.update(frame(i, person(1, 5)))
    state = walkers.states[1]
    assert [e.kind for e in events] == ["identified"]
    assert events[0].identity.name == "bob" and events[0].frame_index == 4
    assert len(state.history) == 4 and all(a.identity.name == "bob" for a in state.history)
    assert [a.windows for a in state.history] == [1, 2, 3, 4]
    names, rows = gallery.scores(np.stack(state.vectors), "code/1")
    mean = rows.mean(axis=0)
    assert len(state.evidence.scores) == 4 and np.allclose(np.mean(state.evidence.scores, axis=0), mean)
    assert state.identity.score == pytest.approx(float(gallery.calibrated(mean.max(), "code/1")))
    assert state.identity.candidates[0][0] == "bob" and len(state.identity.candidates) == 3


def test_a_stranger_is_unknown(gallery: Gallery) -> None:
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5))
    for i in range(10):
        walkers.update(frame(i, person(1, 1)))  # code 1: nobody enrolled looks like that
    identity = walkers.states[1].identity
    assert identity.name is None and identity.score < 1.0 - gallery.target_fpir


def test_tracks_leave_after_they_are_gone_and_short_ones_have_no_answer(gallery: Gallery) -> None:
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5), leave_after=1.0)
    for i in range(6):
        walkers.update(frame(i, person(1, 3), person(2, 7, x=300) if i < 2 else person(1, 3)))
    left = []
    for i in range(6, 30):  # 10 fps: gone for more than 1 s
        left += [e for e in walkers.update(frame(i)) if e.kind == "left"]
    assert sorted((e.track_id, e.identity.name if e.identity else None) for e in left) == [(1, "ann"), (2, None)]
    assert walkers.finish() == []
    walkers.forget_ended()
    assert walkers.states == {}


def test_the_answer_follows_the_gallery(gallery: Gallery) -> None:
    """Someone enrolled while a walker is in view is compared from the next window on."""
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5))
    for i in range(5):
        walkers.update(frame(i, person(1, 1)))
    assert walkers.states[1].identity.name is None
    gallery.enroll("dee", [Embedding(one_hot(1) + 0.05 * k, "code/1") for k in range(3)])
    events = []
    for i in range(5, 10):
        events += walkers.update(frame(i, person(1, 1)))
    assert [(e.kind, e.identity.name) for e in events] == [("identified", "dee")]


def test_a_walker_who_stays_keeps_only_the_last_windows(gallery: Gallery) -> None:
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5), max_windows=3)
    for i in range(50):
        walkers.update(frame(i, person(1, 5)))
    state = walkers.states[1]
    assert state.windows == 10 and len(state.vectors) == len(state.evidence.scores) == 3
    _, rows = gallery.scores(np.stack(state.vectors), "code/1")  # the newest window was scored, not dropped
    assert np.allclose(np.stack(state.evidence.scores), rows, atol=1e-5)
    assert state.history[-1].windows == 10 and state.identity.name == "bob"


def test_each_walker_is_decided_with_the_others_as_its_footage(gallery: Gallery, monkeypatch) -> None:
    """Every decision gets the other walkers held (least recently seen first), never the walker itself;
    a live run's forgotten walkers are out of it, and with footage_null off there is none."""
    seen = []
    decide = gallery.decide
    monkeypatch.setattr(gallery, "decide", lambda e, footage=(): seen.append((e, list(footage))) or decide(e, footage=footage))
    walkers = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5), leave_after=1.0)
    for i in range(5):
        walkers.update(frame(i, person(1, 3), person(2, 7, x=300)))
    one, two = walkers.states[1].evidence, walkers.states[2].evidence
    assert len(seen) == 2
    assert seen[0][0] is one and len(seen[0][1]) == 1 and seen[0][1][0] is two
    assert seen[1][0] is two and len(seen[1][1]) == 1 and seen[1][1][0] is one
    for i in range(5, 25):  # walker 2 leaves; walker 1 walks on
        walkers.update(frame(i, person(1, 3)))
    assert [f is two for f in seen[-1][1]] == [True]  # a file's walker who left is still footage
    walkers.forget_ended()
    walkers.update(frame(25, person(3, 5, x=300)))
    for i in range(26, 30):
        walkers.update(frame(i, person(1, 3), person(3, 5, x=300)))
    assert all(f is not two for f in seen[-1][1]) and len(seen[-1][1]) == 1
    seen.clear()
    quiet = Walkers(CodeEncoder(), gallery, WindowSpec(size=5, stride=5), footage_null=False)
    for i in range(5):
        quiet.update(frame(i, person(1, 3), person(2, 7, x=300)))
    assert len(seen) == 2 and all(footage == [] for _, footage in seen)


def test_the_footage_null_is_on_by_default_and_the_command_line_turns_it_off() -> None:
    from gaitid.cli import _pipeline_options, build_parser
    from gaitid.pipeline import PipelineOptions, walkers_for

    def options(*args: str) -> PipelineOptions:
        return _pipeline_options(build_parser().parse_args([*args, "clip.mp4"]))

    assert PipelineOptions().footage_null and options("identify").footage_null and options("live").footage_null
    assert not options("identify", "--footage-null", "off").footage_null
    assert not walkers_for(options("identify", "--footage-null", "off"), CodeEncoder()).footage_null
    assert walkers_for(options("identify"), CodeEncoder()).footage_null
