"""Which open-set decision to ship: score normalisations and calibrations compared on validation identities.

    python experiments/openset_methods.py --windows ../runs/cohort/windows_train_v4.npz \
        [--json experiments/results/openset_methods.json]

Training subjects only (CASIA-B 001-074; the test subjects 075-124 are not read). Subjects 001-037 are the
cohort (the middle 30-frame window of each of their walks, as the shipped cohort is made); 038-074 are the
validation people. For galleries of k = 1, 2, 4, 10, 20 (30 random draws each), the k people are enrolled from
every window of their nm-01..02 walks (all views); every walk nm-05..06, bg-01..02, cl-01..02 of the 37 is a
probe track: its windows are scored, the track's evidence is the mean normalised score over its windows
(as `gaitid identify` does), and the decision is made at target FPIRs of 1 % and 5 %. Reported: the FPIR
measured on the walks of people not enrolled, and the TPIR (named right) of enrolled people's walks.

Methods: a normalisation (none, z, t, s; `top`: adaptive, from the highest fraction of cohort scores) and
a calibration: "cohort" (the windows of half the cohort's people searched as strangers against this very
gallery: the FPIR at a score is the fraction of them that reach it; the other half give the enrolled side's
statistics) or "self" (today's: the enrolled people searched against
each other, leave one person out; no cohort).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gaitid.gallery.classifiers import CosineNN
from gaitid.gallery.cohort import Cohort
from gaitid.gallery.normalisation import CohortNorm
from gaitid.training.cohort import WindowVectors, middle_windows

COHORT = range(1, 38)
PEOPLE = np.arange(38, 75)
ENROL = ("nm-01", "nm-02")
PROBES = {"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")}
TARGETS = (0.01, 0.05)
METHODS = [
    ("none", 1.0, "self"),
    ("none", 1.0, "cohort"),
    ("z", 1.0, "cohort"),
    ("t", 1.0, "cohort"),
    ("s", 1.0, "cohort"),
    ("s", 0.2, "cohort"),
    ("s", 0.1, "cohort"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    w = WindowVectors.load(args.windows)
    assert w.subjects.max() <= 74, "validation uses training subjects only"
    cohort_w = middle_windows(w.rows(np.isin(w.subjects, COHORT)))
    cohort = Cohort.from_vectors(cohort_w.vectors, cohort_w.subjects.astype(str), w.model)
    people = w.rows(np.isin(w.subjects, PEOPLE))
    cond_type = {c: t for t, cs in PROBES.items() for c in cs}
    probe_rows = np.flatnonzero(np.isin(people.conditions, sum(PROBES.values(), ())))
    walks, walk_of_row = np.unique(people.walk[probe_rows], return_inverse=True)
    walk_subject = np.array([people.subjects[probe_rows][walk_of_row == i][0] for i in range(len(walks))])
    walk_type = np.array([cond_type[people.conditions[probe_rows][walk_of_row == i][0]] for i in range(len(walks))])
    counts = np.bincount(walk_of_row)
    rng = np.random.default_rng(0)
    draws = {k: [np.sort(rng.choice(PEOPLE, k, replace=False)) for _ in range(args.draws)] for k in (1, 2, 4, 10, 20)}
    results = {}
    for mode, top, calib in METHODS:
        name = f"{mode}-norm top {top:g}, {calib} calibration"
        norm = CohortNorm(cohort, mode if mode != "none" else "none", top)
        pstats = norm.probe_stats(people.vectors[probe_rows]) if norm.needs_probe_stats() else None
        cstats = norm.calibration_probe_stats() if norm.needs_probe_stats() else None
        rows = {}
        for k, galleries in draws.items():
            if calib == "self" and k < 2:
                continue
            acc = {t: {"fp": 0, "strangers": 0, **{c: [0, 0] for c in PROBES}} for t in TARGETS}
            for enrolled in galleries:
                enrol = np.isin(people.subjects, enrolled) & np.isin(people.conditions, ENROL)
                clf = CosineNN().fit(people.vectors[enrol], people.subjects[enrol])
                columns = clf.decision_function(cohort.vectors)
                zstats = norm.person_stats(columns) if norm.needs_person_stats() else None
                z = norm.normalise(clf.decision_function(people.vectors[probe_rows]), pstats, zstats)
                evidence = np.zeros((len(walks), len(clf.classes_)))
                np.add.at(evidence, walk_of_row, z)
                evidence /= counts[:, None]
                best = evidence.max(axis=1)
                named = clf.classes_[evidence.argmax(axis=1)]
                if calib == "cohort":
                    null = norm.normalise(columns[norm.probe_rows], cstats, zstats).max(axis=1)
                else:
                    null = clf.nonmated_scores(2000, np.random.default_rng(0))
                null = np.sort(null)
                for t in TARGETS:
                    accepted = np.searchsorted(null, best, side="left") / len(null) >= 1 - t
                    stranger = ~np.isin(walk_subject, enrolled)
                    acc[t]["fp"] += int((accepted & stranger).sum())
                    acc[t]["strangers"] += int(stranger.sum())
                    for c in PROBES:
                        mine = ~stranger & (walk_type == c)
                        acc[t][c][0] += int((accepted & mine & (named == walk_subject)).sum())
                        acc[t][c][1] += int(mine.sum())
            rows[k] = {
                f"{t:g}": {
                    "fpir": acc[t]["fp"] / acc[t]["strangers"],
                    **{f"tpir_{c}": acc[t][c][0] / acc[t][c][1] for c in PROBES},
                }
                for t in TARGETS
            }
        results[name] = rows
        print(f"\n{name}", file=sys.stderr)
        for k, r in rows.items():
            print("  k=%2d  " % k + "   ".join(
                f"target {t}: FPIR {v['fpir']*100:5.1f} TPIR {v['tpir_NM']*100:5.1f}/{v['tpir_BG']*100:5.1f}/{v['tpir_CL']*100:5.1f}"
                for t, v in r.items()), file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": w.model, "draws": args.draws, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
