"""How centring moves genuine and stranger cosines on people the model never saw (RESULTS-openset.md).

    python3 experiments/centring_pair_scores.py --windows ../runs/val/frames20_bf16.windows.npz \
        --cohort-subjects 013-074 --people 001-012

Every window of the people's nm-05..06, bg and cl walks against every window of their nm-01..02 walks:
the mean cosine of same-person pairs, of different-person pairs, and d' (their difference over the
different-person pairs' standard deviation), with the windows as they are and minus three means: the
people's enrolment windows (a small site's mean), all their windows, and the cohort's middle windows.
Training subjects only (001-074).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from openset_small_galleries import ENROL, PROBES  # noqa: E402

from gaitid.training.cohort import WindowVectors, middle_windows  # noqa: E402
from gaitid.training.config import parse_subjects  # noqa: E402


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def pair_scores(x: np.ndarray, subjects: np.ndarray, conditions: np.ndarray) -> dict[str, tuple[float, float, float]]:
    enrol = np.isin(conditions, ENROL)
    out = {}
    for kind, walks in PROBES.items():
        probe = np.isin(conditions, walks)
        scores = unit(x[probe]) @ unit(x[enrol]).T
        same = subjects[probe][:, None] == subjects[enrol][None, :]
        genuine, stranger = scores[same], scores[~same]
        out[kind] = (float(genuine.mean()), float(stranger.mean()), float((genuine.mean() - stranger.mean()) / stranger.std()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", required=True)
    parser.add_argument("--cohort-subjects", type=parse_subjects, required=True)
    parser.add_argument("--people", type=parse_subjects, required=True)
    args = parser.parse_args()
    if max(max(args.cohort_subjects), max(args.people)) > 74:
        raise SystemExit("training subjects 001-074 only")
    w = WindowVectors.load(args.windows)
    cohort = middle_windows(w.rows(np.isin(w.subjects, args.cohort_subjects)))
    people = w.rows(np.isin(w.subjects, args.people))
    x = unit(people.vectors)
    means = {
        "the people's enrolment windows": x[np.isin(people.conditions, ENROL)].mean(0),
        "all the people's windows": x.mean(0),
        "the cohort": unit(cohort.vectors).mean(0),
    }
    print("| windows | NM genuine / stranger / d' | BG genuine / stranger / d' | CL genuine / stranger / d' |")
    print("|---|---|---|---|")
    for name, shifted in [("as they are", x)] + [(f"minus the mean of {k}", x - m) for k, m in means.items()]:
        cells = " | ".join(" / ".join(f"{v:.3f}" for v in t) for t in pair_scores(shifted, people.subjects, people.conditions).values())
        print(f"| {name} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
