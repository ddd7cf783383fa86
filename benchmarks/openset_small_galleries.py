"""Does "unknown" mean the same whatever the gallery's size? Open-set identification on CASIA-B test subjects.

    python benchmarks/openset_small_galleries.py [--windows ../runs/cohort/windows_test_v4.npz] \
        [--json benchmarks/results/openset_small_galleries.json] [--window SIZE STRIDE --every N] \
        [--enrolled-null off] [--cohort-only]

CASIA-B test subjects 075-124 only (never used for training, tuning or the cohort). Each walk is cut into
the windows the pipeline makes (20 silhouettes of every 2nd frame, every 10; `--window` and `--every` as
for the cohort, `gaitid.training.cohort`) and each window embedded by the shipped model (`--windows` keeps
them). For galleries of k = 1, 2, 4, 10, 25, 40 and 50 enrolled subjects (30 random draws each, seed 0;
one for k = 50), each enrolled from every window of their nm-01..02 walks (all 11 views), every walk nm-05..06
(NM), bg-01..02 (BG), cl-01..02 (CL) of the 50 subjects is a probe: all its windows go into one
`TrackEvidence` and the gallery decides once (`Gallery.decide`, exactly what `gaitid identify` calls).
At targets FPIR 1 % and 5 %:
- FPIR: walks of subjects not enrolled that are given a name (none at k = 50: everyone is enrolled);
- TPIR: walks of enrolled subjects named right, per condition.
Two decisions: the shipped one (scores normalised against the model's cohort, calibrated on the cohort)
and, for comparison, the one before it (raw scores, calibrated on the enrolled people themselves: not
possible with one person).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import Gallery
from gaitid.gallery.evidence import TrackEvidence
from gaitid.training.cohort import EVERY, WINDOW_SIZE, WINDOW_STRIDE, WindowVectors, embed_windows
from gaitid.types import Embedding

TEST = tuple(range(75, 125))
ENROL = ("nm-01", "nm-02")
PROBES = {"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")}
SIZES = (1, 2, 4, 10, 25, 40, 50)
TARGETS = (0.01, 0.05)
SELF_CALIBRATED = {"shipped_cohort": False}  # the decision before the cohort: calibrated on the enrolled people


def load_windows(
    path: Path | None, size: int = WINDOW_SIZE, stride: int = WINDOW_STRIDE, every: int = EVERY
) -> WindowVectors:
    if path is not None and path.is_file():
        windows = WindowVectors.load(path, (size, stride, every))
    else:
        windows = embed_windows(GaitEncoder(), TEST, "test", size=size, stride=stride, every=every)
        if path is not None:
            windows.save(path)
    if not set(np.unique(windows.subjects)) <= set(TEST):
        raise SystemExit("this benchmark reads test subjects 075-124 only")
    return windows


def probe_walks(w: WindowVectors) -> list[tuple[int, str, TrackEvidence]]:
    """(subject, condition type, evidence of all its windows) of every probe walk."""
    kind = {c: t for t, cs in PROBES.items() for c in cs}
    out = []
    for walk in np.unique(w.walk):
        rows = np.flatnonzero(w.walk == walk)
        condition = str(w.conditions[rows[0]])
        if condition in kind:
            evidence = TrackEvidence(w.model)
            for v in w.vectors[rows]:
                evidence.add(v)
            out.append((int(w.subjects[rows[0]]), kind[condition], evidence))
    return out


def run_gallery(folder: Path, w: WindowVectors, enrolled: np.ndarray, walks, options: dict) -> list[tuple]:
    """(subject, condition type, named, score) for every probe walk against a gallery of `enrolled`."""
    size = w.frames[0]
    with Gallery.open(folder / "g.db", audit_identifications=False, **options) as gallery:
        for s in enrolled:
            rows = np.flatnonzero((w.subjects == s) & np.isin(w.conditions, ENROL))
            gallery.enroll(f"{s:03d}", [Embedding(v, w.model, size) for v in w.vectors[rows]])
        out = []
        for subject, kind, walk in walks:
            # The first gallery decides on the walk itself, which keeps its windows' cohort statistics; the
            # others decide on fresh copies that share them (they depend on the windows and cohort only).
            identity = gallery.decide(walk if walk.stats_key is None else walk.again())
            out.append((subject, kind, identity.candidates[0][0], identity.score))
    (folder / "g.db").unlink()
    return out


def tally(decisions: list[tuple], enrolled: np.ndarray, acc: dict) -> None:
    for subject, kind, best, score in decisions:
        mated = subject in enrolled
        for t in TARGETS:
            cell = acc[t]
            accepted = score >= 1.0 - t
            if mated:
                cell[kind][0] += int(accepted and best == f"{subject:03d}")
                cell[kind][1] += 1
            else:
                cell["fp"][0] += int(accepted)
                cell["fp"][1] += 1


def new_counts() -> dict:
    """Per target: strangers named and strangers seen ("fp"), and per condition type enrolled walks named right
    and seen (what `tally` adds to)."""
    return {t: {"fp": [0, 0], **{c: [0, 0] for c in PROBES}} for t in TARGETS}


def rates(acc: dict) -> dict:
    """Counts from `tally` as rates per target: FPIR (None without strangers), strangers, TPIR per condition."""
    return {
        f"{t:g}": {
            "fpir": acc[t]["fp"][0] / acc[t]["fp"][1] if acc[t]["fp"][1] else None,
            "strangers": acc[t]["fp"][1],
            **{f"tpir_{c}": acc[t][c][0] / acc[t][c][1] for c in PROBES},
        }
        for t in TARGETS
    }


def format_rates(cell: dict) -> str:
    fpir = "-" if cell["fpir"] is None else f"{100 * cell['fpir']:.2f}"
    return f"FPIR {fpir} TPIR {100 * cell['tpir_NM']:.1f}/{100 * cell['tpir_BG']:.1f}/{100 * cell['tpir_CL']:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=Path, help="cache of the test windows' vectors (.npz)")
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--window", type=int, nargs=2, metavar=("SIZE", "STRIDE"), default=(WINDOW_SIZE, WINDOW_STRIDE),
                        help=f"windows of SIZE analysed frames every STRIDE (default {WINDOW_SIZE} {WINDOW_STRIDE}, the pipeline's)")
    parser.add_argument("--every", type=int, default=EVERY, metavar="N",
                        help=f"analyse every N-th frame (default {EVERY}, the pipeline's at 25 frames/s)")
    parser.add_argument("--enrolled-null", choices=["on", "off"], default="on",
                        help="the cohort decision with the enrolled people's null (the gallery's default) or without")
    parser.add_argument("--cohort-only", action="store_true", help="leave out the self-calibrated decision")
    args = parser.parse_args()
    decisions = {"cohort": {"enrolled_null": args.enrolled_null == "on"}}
    if not args.cohort_only:
        decisions["self (before)"] = SELF_CALIBRATED
    w = load_windows(args.windows, *args.window, args.every)
    walks = probe_walks(w)
    print(f"{len(w.vectors)} windows, {len(walks)} probe walks, model {w.model}", file=sys.stderr)
    rng = np.random.default_rng(0)
    draws = {k: [np.sort(rng.choice(TEST, k, replace=False)) for _ in range(1 if k == len(TEST) else args.draws)] for k in SIZES}
    results: dict = {"model": w.model, "draws": args.draws, "window": list(w.frames),
                     "enrolled_null": args.enrolled_null == "on", "decisions": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for decision, options in decisions.items():
            table = {}
            for k, galleries in draws.items():
                if decision != "cohort" and k < 2:
                    continue
                acc = new_counts()
                for enrolled in galleries:
                    tally(run_gallery(Path(tmp), w, enrolled, walks, options), enrolled, acc)
                table[k] = rates(acc)
                row = "   ".join(f"target {t}: {format_rates(v)}" for t, v in table[k].items())
                print(f"{decision:>14} k={k:2d}  {row}  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            results["decisions"][decision] = table
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
