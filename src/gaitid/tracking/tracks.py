"""Gathering tracked people, frame by frame, into `Track`s, and writing them as JSON."""

from __future__ import annotations

from gaitid.types import FramePeople, Person, Track


class TrackCollector:
    """Accumulates the output of a tracker. `add(people)` per frame; `tracks()` gives every track so far,
    ordered by identity, each with the frames it was seen in."""

    def __init__(self) -> None:
        self._frames: dict[int, list[int]] = {}
        self._times: dict[int, list[float]] = {}
        self._people: dict[int, list[Person]] = {}

    def add(self, people: FramePeople) -> None:
        for person in people.people:
            if person.track_id is None:
                continue
            tid = person.track_id
            self._frames.setdefault(tid, []).append(people.frame_index)
            self._times.setdefault(tid, []).append(people.time)
            self._people.setdefault(tid, []).append(person)

    def __len__(self) -> int:
        return len(self._frames)

    def tracks(self) -> list[Track]:
        return [
            Track(track_id=tid, frame_indices=tuple(self._frames[tid]), times=tuple(self._times[tid]),
                  people=tuple(self._people[tid]))
            for tid in sorted(self._frames)
        ]


def tracks_to_json(tracks: list[Track]) -> dict:
    """{"tracks": [{"id": 1, "frames": [index, ...], "times": [...], "boxes": [[x1, y1, x2, y2], ...]}]}"""
    return {
        "tracks": [
            {
                "id": track.track_id,
                "frames": list(track.frame_indices),
                "times": [round(t, 4) for t in track.times],
                "boxes": [[round(float(v), 1) for v in person.box] for person in track.people],
            }
            for track in tracks
        ]
    }
