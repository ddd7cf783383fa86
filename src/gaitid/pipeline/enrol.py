"""Enrolment, one routine for every caller (the command line, the server's jobs, a walker seen live): the
walker to enrol chosen from a run, with clear reasons when there is none or several; their vectors
enrolled with where they came from; and walkers who will never be enrolled added to the site cohort."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaitid.errors import InputError
from gaitid.pipeline.run import WalkRun
from gaitid.pipeline.walkers import WalkerState, windows_text
from gaitid.types import Embedding


class SeveralWalkers(InputError):
    """A run with several walkers who could be enrolled, and no track chosen: each caller says how to choose
    (the command line's --track, the HTTP API's track field)."""


def enrol_walker(  # type: ignore[no-untyped-def]
    gallery, name: str, state: WalkerState, embeddings: list[Embedding], source: str, add: bool = False
) -> Any:
    """Enrol a walker's vectors as `name` (more vectors for them with `add`), noting the source, the track and
    its frames; returns the person as they now are. `embeddings` are the walker's (`state.embeddings(...)`,
    taken where the state is not changing)."""
    return gallery.enroll(
        name,
        embeddings,
        source=source,
        metadata={"track": state.track_id, "frames": [state.first_frame, state.last_frame]},
        add=add,
    )


def cohort_walkers(result: WalkRun, tracks: list[int] | None = None) -> list[WalkerState]:
    """The walkers of a run to add to the site cohort: the tracks asked for, else every walker with a window."""
    states = [choose_walker(result, t) for t in tracks] if tracks else [
        s for s in sorted(result.walkers.states.values(), key=lambda s: s.track_id) if s.vectors
    ]
    if not states:
        raise InputError(
            f"{result.source}: no walker was seen long enough to add to the cohort ({result.window.size} usable "
            f"frames are needed: the whole walker in view, at least {result.window.min_height:g} px tall)"
        )
    return states


def add_to_cohort(  # type: ignore[no-untyped-def]
    gallery, result: WalkRun, states: list[WalkerState], source: str, run: str
) -> int:
    """Add each walker as one site-cohort person (labelled video#track@run: a track number names one walker
    within one run only); returns how many site-cohort vectors the model now has."""
    video = Path(source).name
    for state in states:
        count = gallery.add_cohort(
            f"{video}#{state.track_id}@{run}", state.embeddings(result.model, result.window.size), source=source
        )
    return count


def choose_walker(result: WalkRun, track: int | None) -> WalkerState:
    """The track to enrol: the one asked for, else the only walker with enough frames; clear errors else."""
    states = sorted(result.walkers.states.values(), key=lambda s: s.track_id)
    size = result.window.size
    if track is not None:
        chosen = result.walkers.states.get(track)
        if chosen is None:
            known = ", ".join(str(s.track_id) for s in states) or "none"
            raise InputError(f"{result.source}: no track {track} (tracks: {known})")
        if not chosen.vectors:
            raise InputError(
                f"{result.source}: track {track} has {chosen.usable} usable frames; enrolment needs at least "
                f"{size} (frames where the whole walker is in view, at least {result.window.min_height:g} px tall)"
            )
        return chosen
    walkers = [s for s in states if s.vectors]
    if len(walkers) == 1:
        return walkers[0]
    if not walkers:
        if not states:
            raise InputError(f"{result.source}: no walker found in the video")
        best = max(states, key=lambda s: s.usable)
        raise InputError(
            f"{result.source}: no walker was seen long enough to enrol: the longest track ({best.track_id}) has "
            f"{best.usable} usable frames, {size} are needed (frames where the whole walker is in view, at least "
            f"{result.window.min_height:g} px tall)"
        )
    listing = "; ".join(
        f"track {s.track_id}: frames {s.first_frame}-{s.last_frame}, first seen at x={s.first_box[0]:.0f}-"
        f"{s.first_box[2]:.0f} y={s.first_box[1]:.0f}-{s.first_box[3]:.0f}, {windows_text(s.windows)}"
        for s in walkers
    )
    raise SeveralWalkers(f"{result.source}: {len(walkers)} walkers were seen long enough for a gait window ({listing}); choose one")
