"""How well the whole pipeline re-identifies the walkers of vtest.avi, and whether "unknown" holds there:
enrol the first half of some walkers' tracks, identify the second half of everyone's.

    python benchmarks/identify_vtest.py [--cache ../runs/vtest_walkers.npz] \
        [--json benchmarks/results/identify_vtest.json] [--window SIZE STRIDE]

The video is run once through `gaitid identify`'s stages (HumanPoseNN, tracker, silhouette windows of 20
usable frames every 10 or `--window`'s, the shipped GaitNN; `--cache` keeps the vectors; vtest is 10 frames/s,
so every frame is analysed). Every track with at least 4 windows is a walker; its windows are split in two
halves that share no frame (the windows across the middle are dropped). For gallery sizes k = 1, 2, 5, 10 (30
random draws each, seed 0), k walkers are enrolled from their first halves. The other walkers are dealt in
two: the first group's first halves may serve as the site's own cohort (`gaitid gallery cohort add`), the
second group's second halves are the strangers. Every enrolled walker's and every stranger's second half is
identified window by window through `Gallery.decide`, as `gaitid identify` does, and the final answer counts.
Four decisions, on the same probes:
- "self (before)": raw scores calibrated on the enrolled people themselves (the decision before the cohort);
- "cohort": scores normalised against, and calibrated on, the cohort shipped with the model;
- "cohort + site": the same with the first group's walkers added to the cohort;
- "cohort + footage": the cohort, and the other walkers of the file being identified as a null, as
  `gaitid identify` decides (`Walkers.footage`). The file is every walker's second half and every window of
  the tracks too short to be walkers, replayed in the order of the frames the windows end on (the cache
  keeps them); every window of every track is decided as it comes, with the other tracks' windows so far
  as the footage. Strangers named at any window ("ever named": what the annotated video shows) are
  counted beside the final answers.
Both cohort decisions also hold the enrolled people up against each other as strangers (a null of their
own, from 5 people enrolled; the gallery's default: benchmarks/RESULTS-openset.md); `--enrolled-null off`
leaves it out.
Reported at targets FPIR 1 % and 5 %: enrolled walkers named right (TPIR) and wrongly, strangers given a
name (FPIR); and closed-set rank-1 with all walkers enrolled.
vtest.avi comes from ../shared/data/media (or $GAITID_MEDIA).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from gaitid.gallery import Gallery
from gaitid.gallery.evidence import TrackEvidence
from gaitid.types import Embedding

SIZES = (1, 2, 5, 10)
TARGETS = (0.01, 0.05)
DECISIONS = ("self (before)", "cohort", "cohort + site", "cohort + footage")


def halves(vectors: list[np.ndarray], size: int, stride: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Windows of the first and second half of a track that share no frame."""
    n = len(vectors)
    overlap = -(-size // stride) - 1  # windows that overlap a given one on each side
    cut = n // 2
    return vectors[: cut - overlap // 2 or 1], vectors[cut + (overlap - overlap // 2) :]


def walker_halves(
    tracks: dict[int, np.ndarray], size: int, stride: int
) -> dict[int, tuple[list[np.ndarray], list[np.ndarray]]]:
    """{track id: (first half, second half)} of every track with at least 4 windows and both halves."""
    walkers = {}
    for t, vectors in tracks.items():
        first, second = halves(list(vectors), size, stride)
        if len(vectors) >= 4 and first and second:
            walkers[t] = (first, second)
    return walkers


def track_vectors(
    cache: Path | None, window: tuple[int, int] | None = None
) -> tuple[dict[int, np.ndarray], str, tuple[int, int]]:
    """{track id: (windows, d) vectors} of vtest's tracks, the model, and the window (size, stride):
    `window`'s, or the pipeline's default when None."""
    if cache is not None and cache.is_file():
        z = np.load(cache)
        tracks = {int(k.removeprefix("track_")): z[k] for k in z.files if k.startswith("track_")}
        cached = tuple(int(v) for v in z["window"])
        if window is not None and cached != tuple(window):
            sys.exit(f"{cache} holds windows of {cached[0]} / {cached[1]} frames, not {window[0]} / {window[1]}: "
                     "give another --cache")
        return tracks, str(z["model"]), cached
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.pipeline import PipelineOptions, analyse
    from gaitid.pipeline.walkers import Walkers, WindowSpec

    media = Path(os.environ.get("GAITID_MEDIA", Path(__file__).resolve().parents[2] / "shared" / "data" / "media"))
    class TimedWalkers(Walkers):
        """Walkers that also note the frame each window ends on (for replays in time order)."""

        def _add_window(self, state, frame_index, time):  # type: ignore[no-untyped-def]
            before = state.windows
            event = super()._add_window(state, frame_index, time)
            if state.windows > before:
                state.window_frames = [*getattr(state, "window_frames", []), frame_index]
            return event

    encoder = GaitEncoder()
    options = PipelineOptions(progress=False, window=WindowSpec(*window) if window else WindowSpec())
    seen = TimedWalkers(encoder, None, options.window)
    analyse(str(media / "vtest.avi"), seen, options)
    tracks = {s.track_id: np.stack(s.vectors) for s in seen.states.values() if s.vectors}
    window = (options.window.size, options.window.stride)
    if cache is not None:
        frames = {f"frames_{t}": np.array(s.window_frames) for t, s in seen.states.items() if t in tracks}
        np.savez(cache, model=encoder.model, window=window, **{f"track_{t}": v for t, v in tracks.items()}, **frames)
    return tracks, encoder.model, window


def window_frames(cache: Path) -> dict[int, np.ndarray]:
    """{track id: the frame each of its windows ends on} from a cache made since frames were kept."""
    z = np.load(cache)
    frames = {int(k.removeprefix("frames_")): z[k] for k in z.files if k.startswith("frames_")}
    if not frames:
        sys.exit(f"{cache} was made before the windows' frames were kept: remake it (give a new --cache)")
    return frames


def deal(rng: np.random.Generator, ids: list[int], k: int) -> tuple[list[int], list[int], list[int]]:
    """One draw: k walkers enrolled (sorted), the others dealt in two: the site group and the strangers."""
    order = rng.permutation(ids).tolist()
    enrolled, others = sorted(order[:k]), order[k:]
    return enrolled, others[: len(others) // 2], others[len(others) // 2 :]


def decide(gallery: Gallery, model: str, windows: list[np.ndarray]):  # type: ignore[no-untyped-def]
    """The final answer for a walk identified window by window, as the pipeline does."""
    return walk_answers(gallery, model, windows)[-1]


def walk_answers(gallery: Gallery, model: str, windows: list[np.ndarray]) -> list:
    """The answers at every window of a walk identified window by window, alone (no footage)."""
    evidence = TrackEvidence(model)
    answers = []
    for v in windows:
        evidence.add(v)
        answers.append(gallery.decide(evidence))
    return answers


def probe_file(
    tracks: dict[int, np.ndarray], frames: dict[int, np.ndarray], walkers: dict, size: int, stride: int
) -> list[tuple[int, int, np.ndarray]]:
    """The file being identified, window by window in time order: (frame, track, vector) of every walker's
    second half and of every window of the tracks that are not walkers."""
    windows = []
    for t, vectors in tracks.items():
        ends = list(frames[t])
        if t in walkers:
            ends = halves(ends, size, stride)[1]
            vectors = walkers[t][1]
        windows.extend(zip(ends, [t] * len(ends), vectors))
    return sorted(windows, key=lambda w: (w[0], w[1]))


def replay(
    gallery: Gallery, model: str, windows: list[tuple[int, int, np.ndarray]], **evidence_options: int
) -> dict[int, list]:
    """Every track's answers, window by window, deciding each window as it comes with the other tracks'
    windows so far as the footage (least recently seen first, as `Walkers.footage` gives them).
    `evidence_options`: settings of each track's TrackEvidence (e.g. confirm_first)."""
    evidence: dict[int, TrackEvidence] = {}
    last: dict[int, int] = {}
    answers: dict[int, list] = {}
    for frame, t, vector in windows:
        evidence.setdefault(t, TrackEvidence(model, **evidence_options)).add(vector)
        last[t] = frame
        footage = [evidence[u] for u in sorted(evidence, key=lambda u: last[u]) if u != t]
        answers.setdefault(t, []).append(gallery.decide(evidence[t], footage=footage))
    return answers


def new_counts(decisions: tuple[str, ...]) -> dict:
    """Per decision and target: enrolled walkers (named right, named wrong) and strangers (named, and named
    at any window of their walk)."""
    return {d: {t: {"enrolled": 0, "correct": 0, "wrong": 0, "strangers": 0, "named": 0, "ever_named": 0}
                for t in TARGETS} for d in decisions}


def tally(counts: dict, track: int, enrolled: bool, history: list) -> None:
    """Count one walker's answers at every target (`counts`: one decision's, from new_counts): its final
    answer, and for a stranger whether any of its answers (one per window) named them."""
    identity = history[-1]
    best, score = identity.candidates[0][0], identity.score
    for target in TARGETS:
        c = counts[target]
        named = score >= 1.0 - target
        if enrolled:
            c["enrolled"] += 1
            c["correct"] += named and best == f"w{track}"
            c["wrong"] += named and best != f"w{track}"
        else:
            c["strangers"] += 1
            c["named"] += named
            c["ever_named"] += any(a.score >= 1.0 - target for a in history)


def summary(k: int, counts: dict) -> dict:
    """The rates of every decision and target at gallery size k, printed as they are made."""
    row: dict = {}
    for decision, by_target in counts.items():
        row[decision] = {}
        for target, c in by_target.items():
            if not c["enrolled"]:
                continue
            r = row[decision][f"{target:g}"] = {
                "tpir": c["correct"] / c["enrolled"],
                "misnamed": c["wrong"] / c["enrolled"],
                "fpir": c["named"] / c["strangers"] if c["strangers"] else None,
                **c,
            }
            print(f"k={k:>2} {decision:>16} target {target:g}: TPIR {r['tpir']:.3f}  misnamed "
                  f"{r['misnamed']:.3f}  FPIR {r['fpir']:.3f} ({c['named']}/{c['strangers']}; ever named "
                  f"{c['ever_named']})", file=sys.stderr)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", dest="json_path", type=Path)
    parser.add_argument("--cache", type=Path, help="keep (or reuse) the tracks' vectors in this .npz")
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--enrolled-null", choices=["on", "off"], default="on",
                        help="whether the cohort decisions also hold the enrolled people up against each other "
                        "(Gallery(enrolled_null=...); default on)")
    parser.add_argument("--window", type=int, nargs=2, metavar=("SIZE", "STRIDE"),
                        help="gait windows of SIZE frames every STRIDE (default: the pipeline's, 20 10)")
    args = parser.parse_args()
    enrolled_null = args.enrolled_null == "on"
    tracks, model, (size, stride) = track_vectors(args.cache, args.window)
    walkers = walker_halves(tracks, size, stride)
    ids = sorted(walkers)
    frames = window_frames(args.cache) if args.cache is not None else None
    decisions = DECISIONS if frames is not None else DECISIONS[:-1]
    if frames is None:
        print("no --cache: the replay of the file in time order (cohort + footage) needs the windows' frames, "
              "which only a cache keeps; left out", file=sys.stderr)
    print(f"{len(tracks)} tracks with vectors, {len(ids)} walkers with 4 windows or more: {ids}", file=sys.stderr)
    rng = np.random.default_rng(0)
    results: dict = {"model": model, "walkers": ids, "window": [size, stride], "draws": args.draws,
                     "enrolled_null": enrolled_null, "galleries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for k in SIZES:
            counts = new_counts(decisions)
            for draw in range(args.draws):
                enrolled, site, strangers = deal(rng, ids, k)
                for number, decision in enumerate(decisions):
                    if decision == "self (before)" and k < 2:
                        continue
                    path = Path(tmp) / f"g{k}_{draw}_{number}.db"
                    options = {"shipped_cohort": False} if decision == "self (before)" else {"enrolled_null": enrolled_null}
                    with Gallery.open(path, audit_identifications=False, **options) as gallery:
                        for t in enrolled:
                            gallery.enroll(f"w{t}", [Embedding(v, model, size) for v in walkers[t][0]])
                        if decision == "cohort + site":
                            for t in site:
                                gallery.add_cohort(f"site{t}", [Embedding(v, model, size) for v in walkers[t][0]])
                        if decision == "cohort + footage":
                            answers = replay(gallery, model, probe_file(tracks, frames, walkers, size, stride))
                            for t in enrolled + strangers:
                                tally(counts[decision], t, t in enrolled, answers[t])
                            continue
                        for t in enrolled + strangers:
                            tally(counts[decision], t, t in enrolled, walk_answers(gallery, model, walkers[t][1]))
            results["galleries"][k] = summary(k, counts)
        with Gallery.open(Path(tmp) / "all.db", audit_identifications=False) as gallery:
            for t in ids:
                gallery.enroll(f"w{t}", [Embedding(v, model, size) for v in walkers[t][0]])
            rank1 = sum(decide(gallery, model, walkers[t][1]).candidates[0][0] == f"w{t}" for t in ids)
        results["closed_set_rank1"] = {"correct": int(rank1), "walkers": len(ids)}
        print(f"closed set, all {len(ids)} enrolled: rank-1 {rank1}/{len(ids)}", file=sys.stderr)
    if args.json_path:
        args.json_path.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
