"""Build the calibration cohort that ships beside a silhouette model: people who are never enrolled.

    python -m gaitid.training.cohort [--weights NAME|FILE.onnx] [--out FILE.npz] [--cache windows.npz]

The cohort is made of CASIA-B's training subjects 001-074 (never 075-124), embedded by the model it ships
with exactly as the pipeline embeds a walker by default: every 2nd frame of the 25 frames/s walks (at most 15
a second), windows of 20 silhouettes every 10 (`WindowSpec`'s defaults); `--window SIZE STRIDE --every N`
for a pipeline that analyses every N-th frame and cuts windows of SIZE analysed frames every STRIDE.
Per subject it keeps one window per walk (condition and view): the middle window of each of the 110 walks,
so that every view and every condition (normal, bag, coat) is in it. Vectors are stored as int8 with a
per-vector scale (cosine error below 0.002), beside the weights, with the model's name and the SHA-256 of
its weights file: a cohort made by other weights is refused at load time (`gaitid.gallery.cohort`).

Remake it whenever the weights change (this command, then commit the file it writes).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitid.gallery.cohort import Cohort, ProbeStats, cohort_path, file_sha256
from gaitid.datasets.casia_b import CASIA_B_TRAIN_SUBJECTS, load_casia_b

WINDOW_SIZE = 20
WINDOW_STRIDE = 10
EVERY = 2  # CASIA-B's walks are 25 frames/s: the pipeline analyses every 2nd frame of them (at most 15 a second)
UNRECORDED_FRAMES = (30, 15, 1)  # the windows of a vector file saved before they were recorded


@dataclass(frozen=True)
class WindowVectors:
    """Vectors of windows of CASIA-B walks (`frames`: their size, stride and every-n-th frame). Row i: window
    `window[i]` of walk `walk[i]`."""

    vectors: np.ndarray  # (n, d) float32
    subjects: np.ndarray  # (n,) int
    conditions: np.ndarray  # (n,) str, e.g. "nm-05"
    views: np.ndarray  # (n,) str, e.g. "090"
    walk: np.ndarray  # (n,) int: index of the walk the window comes from
    window: np.ndarray  # (n,) int: index of the window within its walk
    model: str
    frames: tuple[int, int, int] = (WINDOW_SIZE, WINDOW_STRIDE, EVERY)  # the windows' size, stride, every

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{k: np.asarray(getattr(self, k)) for k in self.__dataclass_fields__})

    @staticmethod
    def load(path: Path, frames: tuple[int, int, int] | None = None) -> WindowVectors:
        """A saved file (one saved before windows were recorded holds 30 / 15 of every frame, the defaults
        until 2026-12-04); with `frames`, one of other windows is refused."""
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k not in ("model", "frames")}
            saved = tuple(int(v) for v in z["frames"]) if "frames" in z.files else UNRECORDED_FRAMES
            windows = WindowVectors(**arrays, model=str(z["model"]), frames=saved)
        if frames is not None and windows.frames != tuple(frames):
            raise SystemExit(f"{path} holds windows of {'/'.join(map(str, windows.frames))} (size/stride/every), "
                             f"not {'/'.join(map(str, frames))}: give another cache")
        return windows

    def rows(self, keep: np.ndarray) -> WindowVectors:
        return WindowVectors(
            self.vectors[keep], self.subjects[keep], self.conditions[keep], self.views[keep],
            self.walk[keep], self.window[keep], self.model, self.frames,
        )


def window_starts(num_frames: int, size: int = WINDOW_SIZE, stride: int = WINDOW_STRIDE) -> list[int]:
    """First frames of the windows the pipeline would make from a walk of `num_frames` usable frames;
    a walk shorter than one window gives one window of all its frames."""
    if num_frames <= size:
        return [0]
    return list(range(0, num_frames - size + 1, stride))


def embed_windows(
    encoder,  # type: ignore[no-untyped-def]
    subjects: Sequence[int],
    purpose: str,
    root: Path | None = None,
    progress: bool = True,
    size: int = WINDOW_SIZE,
    stride: int = WINDOW_STRIDE,
    every: int = EVERY,
) -> WindowVectors:
    """Every window of every walk of `subjects` embedded by `encoder` (a GaitEncoder): `size` silhouettes
    every `stride` of the walk's every `every`-th frame."""
    data = load_casia_b(subjects, purpose, root)
    vectors, subs, conds, views, walks, windows = [], [], [], [], [], []
    t0 = time.perf_counter()
    for i, key in enumerate(data.keys):
        frames = data.frames(i)[::every]
        for w, start in enumerate(window_starts(len(frames), size, stride)):
            vectors.append(encoder.embed(frames[start : start + size]).vector)
            subs.append(key.subject)
            conds.append(key.condition)
            views.append(key.view)
            walks.append(i)
            windows.append(w)
        if progress and i % 500 == 0:
            print(f"  {i}/{len(data)} walks, {len(vectors)} windows ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return WindowVectors(
        np.stack(vectors).astype(np.float32), np.array(subs), np.array(conds), np.array(views),
        np.array(walks), np.array(windows), encoder.model, (size, stride, every),
    )


def middle_windows(windows: WindowVectors) -> WindowVectors:
    """One window per walk: the middle one (the walker fully in the view's centre)."""
    keep = []
    for walk in np.unique(windows.walk):
        rows = np.flatnonzero(windows.walk == walk)
        keep.append(rows[len(rows) // 2])
    return windows.rows(np.array(keep))


def build_cohort(windows: WindowVectors, weights: Path) -> Cohort:
    """The shipped cohort from the training subjects' windows (refuses any test subject)."""
    if np.any(windows.subjects > max(CASIA_B_TRAIN_SUBJECTS)):
        raise ValueError("the cohort must be made of training subjects only (CASIA-B 001-074)")
    chosen = middle_windows(windows)
    labels = np.array([f"casia-b-{s:03d}" for s in chosen.subjects])
    return Cohort.from_vectors(chosen.vectors, labels, windows.model, file_sha256(weights))


def probe_stats(cohort: Cohort) -> ProbeStats:
    """The cohort's calibration probes' statistics for the gallery's default settings, which a gallery
    reads from the cohort file instead of computing them at its first decision."""
    from gaitid.gallery.gallery import CALIBRATION_PROBES, NORMALISATION_TOP
    from gaitid.gallery.normalisation import CohortNorm

    mu, sd = CohortNorm(cohort, "s", NORMALISATION_TOP, CALIBRATION_PROBES).calibration_probe_stats()
    return ProbeStats(NORMALISATION_TOP, CALIBRATION_PROBES, mu, sd)


def main(argv: list[str] | None = None) -> int:
    from gaitid.gait.encoder import GaitEncoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="a shipped model's name or an .onnx file (default: the shipped default)")
    parser.add_argument("--out", type=Path, help="where to write the cohort (default: beside the weights)")
    parser.add_argument("--cache", type=Path, help="keep (or reuse) every window's vector in this .npz")
    parser.add_argument("--window", type=int, nargs=2, metavar=("SIZE", "STRIDE"), default=(WINDOW_SIZE, WINDOW_STRIDE),
                        help=f"windows of SIZE analysed frames every STRIDE (default {WINDOW_SIZE} {WINDOW_STRIDE})")
    parser.add_argument("--every", type=int, default=EVERY, metavar="N",
                        help=f"analyse every N-th frame of the 25 frames/s walks, as the pipeline would (default {EVERY})")
    parser.add_argument("--probe-stats-only", action="store_true",
                        help="only add the calibration probes' statistics to the existing cohort file")
    args = parser.parse_args(argv)
    if args.probe_stats_only:
        out = args.out or cohort_path(GaitEncoder(args.weights).path)
        Cohort.store_probe_stats(out, probe_stats(Cohort.load(out)))
        print(f"{out}: calibration probes' statistics added")
        return 0
    encoder = GaitEncoder(args.weights)
    size, stride = args.window
    if args.cache is not None and args.cache.is_file():
        windows = WindowVectors.load(args.cache, (size, stride, args.every))
        if windows.model != encoder.model:
            raise SystemExit(f"{args.cache} holds vectors of {windows.model}, not {encoder.model}")
        windows = windows.rows(windows.subjects <= max(CASIA_B_TRAIN_SUBJECTS))
    else:
        windows = embed_windows(encoder, CASIA_B_TRAIN_SUBJECTS, "train", size=size, stride=stride, every=args.every)
        if args.cache is not None:
            windows.save(args.cache)
    cohort = build_cohort(windows, encoder.path)
    out = args.out or cohort_path(encoder.path)
    cohort.save(out)
    Cohort.store_probe_stats(out, probe_stats(Cohort.load(out)))  # of the vectors as a gallery loads them
    print(f"{out}: {len(cohort.labels)} vectors of {len(np.unique(cohort.labels))} people, model {cohort.model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
