"""The tracker on synthetic box sequences: walking, crossing, occlusion, leaving, dropped frames."""

from __future__ import annotations

import numpy as np
import pytest

from gaitid.tracking import TrackCollector, Tracker, TrackerConfig, iou_matrix
from gaitid.types import FramePeople, Person

SIZE = (480, 640)


def person(x: float, y: float, score: float = 0.9, w: float = 40, h: float = 100) -> Person:
    return Person(box=np.array([x, y, x + w, y + h], np.float32), score=score, keypoints=np.zeros((33, 3), np.float32))


def frame(index: int, people: list[Person], fps: float = 10.0) -> FramePeople:
    return FramePeople(frame_index=index, time=index / fps, people=tuple(people), frame_size=SIZE)


def run(frames: list[FramePeople], tracker: Tracker | None = None) -> list[FramePeople]:
    tracker = tracker or Tracker()
    return [tracker.update(f) for f in frames]


def ids(out: FramePeople) -> list[int | None]:
    return [p.track_id for p in out.people]


def test_two_walkers_keep_their_identities() -> None:
    frames = [frame(i, [person(50 + 6 * i, 100), person(400 - 5 * i, 300)]) for i in range(40)]
    outs = run(frames)
    assert all(ids(o) == [1, 2] for o in outs)


def test_a_crossing_with_occlusion_keeps_identities() -> None:
    # Walker A goes right, walker B goes left at the same height; B is hidden behind A for frames 18-23.
    frames = []
    for i in range(45):
        a = person(100 + 8 * i, 200)
        b = person(460 - 8 * i, 205, h=95)
        people = [a] if 18 <= i <= 23 else [a, b]
        frames.append(frame(i, people))
    outs = run(frames)
    first = {o.frame_index: ids(o) for o in outs}
    assert first[0] == [1, 2]
    assert first[44] == [1, 2], "identities were swapped or lost at the crossing"
    assert all(len(set(i)) == len(i) for i in first.values())


def test_a_short_occlusion_keeps_the_identity() -> None:
    frames = [frame(i, [person(100 + 5 * i, 200)] if not 10 <= i < 16 else []) for i in range(30)]
    outs = run(frames)
    assert {tuple(ids(o)) for o in outs if o.people} == {(1,)}


def test_a_track_ends_when_its_person_leaves_and_a_newcomer_gets_a_new_identity() -> None:
    walker = [frame(i, [person(520 + 12 * i, 200)]) for i in range(12)]  # walks out on the right
    empty = [frame(i, []) for i in range(12, 40)]
    newcomer = [frame(i, [person(600, 210)]) for i in range(40, 50)]  # someone else appears there later
    tracker = Tracker()
    outs = run(walker + empty + newcomer, tracker)
    assert ids(outs[0]) == [1]
    assert ids(outs[-1]) == [2]
    assert tracker.active_ids == [2]


def test_lost_tracks_end_after_max_lost_seconds() -> None:
    tracker = Tracker(TrackerConfig(max_lost_seconds=1.0))
    run([frame(i, [person(300, 200)]) for i in range(5)], tracker)
    run([frame(i, []) for i in range(5, 25)], tracker)  # 2 s unseen
    out = tracker.update(frame(25, [person(300, 200)]))
    assert ids(out) == [None]  # a new tentative track, not the old identity
    assert ids(tracker.update(frame(26, [person(300, 200)]))) == [None]
    assert ids(tracker.update(frame(27, [person(300, 200)]))) == [2]  # confirmed after confirm_hits frames


def test_low_score_detections_continue_but_never_start_tracks() -> None:
    frames = [frame(i, [person(100 + 5 * i, 200, score=0.9 if i < 5 else 0.3)]) for i in range(12)]
    assert all(ids(o) == [1] for o in run(frames))
    alone = [frame(i, [person(100, 200, score=0.3)]) for i in range(5)]
    assert all(ids(o) == [None] for o in run(alone))


def test_false_detections_lasting_less_than_confirm_hits_get_no_identity() -> None:
    frames = [frame(i, [person(100 + 5 * i, 200)]) for i in range(10)]
    frames[5] = frame(5, [person(125, 200), person(500, 50, score=0.7)])
    frames[6] = frame(6, [person(130, 200), person(500, 50, score=0.7)])
    outs = run(frames)
    assert ids(outs[5]) == [1, None] and ids(outs[6]) == [1, None]
    assert all(p.track_id in (1, None) for o in outs for p in o.people)


def test_dropped_frames_are_bridged_by_the_motion_model() -> None:
    # A live source that dropped frames: indices jump by 4, the walker moves 4 steps between updates.
    frames = [frame(i, [person(50 + 10 * i, 200), person(50 + 10 * i, 330)]) for i in range(0, 60, 4)]
    assert all(ids(o) == [1, 2] for o in run(frames))


def test_update_returns_new_people_and_leaves_its_input_alone() -> None:
    given = frame(0, [person(10, 10), person(300, 10)])
    out = Tracker().update(given)
    assert all(p.track_id is None for p in given.people)
    assert out is not given and out.people[0] is not given.people[0]
    assert out.frame_index == 0 and out.frame_size == SIZE
    np.testing.assert_array_equal(out.people[1].box, given.people[1].box)


def test_reset_starts_identities_again() -> None:
    tracker = Tracker()
    run([frame(i, [person(10, 10)]) for i in range(3)], tracker)
    tracker.reset()
    assert ids(tracker.update(frame(0, [person(300, 300)]))) == [1]


def test_empty_frames() -> None:
    out = Tracker().update(FramePeople(frame_index=0, time=0.0))
    assert out.people == ()


def test_collector_gathers_tracks() -> None:
    collector = TrackCollector()
    for out in run([frame(i, [person(50 + 6 * i, 100), person(400, 300)]) for i in range(5)]):
        collector.add(out)
    tracks = collector.tracks()
    assert [t.track_id for t in tracks] == [1, 2]
    assert tracks[0].frame_indices == (0, 1, 2, 3, 4)
    assert tracks[0].boxes.shape == (5, 4)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 1 / 3),
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),
    ],
)
def test_iou(a, b, expected) -> None:
    assert iou_matrix(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        TrackerConfig(low_score=0.8, high_score=0.5)
