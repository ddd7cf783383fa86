"""Sinks that report: the JSON of a run (per track, its answer, the frames it covers and how the answer
evolved), events of the live view, and answers in words."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from gaitid.pipeline.walkers import WalkerEvent, WalkerState
from gaitid.types import Identity

if TYPE_CHECKING:
    from gaitid.pipeline.run import WalkRun
    from gaitid.pipeline.stream import StreamRun


def answer_text(identity: Identity) -> str:
    """An answer in words: the name (or unknown), its score, and what the score means."""
    fpir = identity.fpir if identity.fpir is not None else 1.0 - identity.score
    odds = "under 0.1 %" if fpir < 0.001 else f"{100 * fpir:.1f} %"
    return f"{identity.name or 'unknown'} (score {identity.score:.3f}: {odds} of strangers score as high)"


def identity_json(identity: Identity | None) -> dict[str, Any]:
    if identity is None:
        return {"name": None, "score": None, "fpir": None, "margin": None, "candidates": []}
    margin = identity.margin
    return {
        "name": identity.name,
        "score": round(identity.score, 4),
        "fpir": None if identity.fpir is None else round(identity.fpir, 4),
        "margin": None if margin is None or not np.isfinite(margin) else round(margin, 3),
        "candidates": [[name, round(score, 4)] for name, score in identity.candidates],
    }


def track_status(state: WalkerState) -> str:
    if state.identity is not None:
        return "identified" if state.identity.name is not None else "unknown"
    return "vectors" if state.vectors else "too_short"


def walk_run_json(result: WalkRun) -> dict[str, Any]:
    """The JSON of `gaitid identify`: per track, its answer, the frames it covers and how it evolved."""
    window = result.window
    tracks = []
    for state in sorted(result.walkers.states.values(), key=lambda s: s.track_id):
        entry = {
            "id": state.track_id,
            "status": track_status(state),
            **identity_json(state.identity),
            "first_frame": state.first_frame,
            "last_frame": state.last_frame,
            "first_time": round(state.first_time, 3),
            "first_box": list(state.first_box) if state.first_box else None,
            "last_time": round(state.last_time, 3),
            "frames": state.frames,
            "usable_frames": state.usable,
            "windows": state.windows,
            "history": [
                {"frame": a.frame_index, "time": round(a.time, 3), "windows": a.windows, **identity_json(a.identity)}
                for a in state.history
            ],
        }
        if entry["status"] == "too_short":
            entry["reason"] = (
                f"{state.usable} usable frames; a window needs {window.size} (frames where the whole walker is "
                f"in view and at least {window.min_height:g} px tall)"
            )
        tracks.append(entry)
    return {
        "source": result.source,
        "model": result.model,
        "window": {"size": window.size, "stride": window.stride, "min_height": window.min_height},
        "calibration": result.calibration,
        "frames": result.run.frames,
        **_subsampling(result.run),
        "seconds": round(result.run.seconds, 3),
        "interrupted": result.run.interrupted,
        "error": None if result.run.error is None else str(result.run.error),
        "tracks": tracks,
    }


def _subsampling(run: StreamRun) -> dict[str, int | float | None]:
    """When only every n-th frame was analysed: n and the frames read; for a live source analysed at most
    so many frames a second, that rate and the frames read; for a live source, the frames it dropped
    while the pipeline was busy."""
    fields: dict[str, int | float | None] = {}
    if run.step > 1:
        fields |= {"frame_step": run.step, "frames_read": run.frames_read}
    elif run.rate:
        fields |= {"max_fps": run.rate, "frames_read": run.frames_read}
    if run.dropped is not None:
        fields["frames_dropped"] = run.dropped
    return fields


def event_json(event: WalkerEvent) -> dict[str, Any]:
    return {
        "event": event.kind,
        "track": event.track_id,
        "frame": event.frame_index,
        "time": round(event.time, 3),
        "wall_time": round(time.time(), 3),
        **identity_json(event.identity),
    }


def event_text(event: WalkerEvent) -> str:
    identity = event.identity
    who = "no answer (too short)" if identity is None else answer_text(identity)
    verb = "identified as" if event.kind == "identified" else "left:"
    return f"{time.strftime('%H:%M:%S')} t={event.time:.1f}s track {event.track_id} {verb} {who}"
