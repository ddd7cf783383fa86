"""The enrolled people as a null of their own, on validation identities: does it keep the FPIR where the
cohort is like the footage? (the rule: benchmarks/RESULTS-openset.md, "the enrolled people as a null")

    python experiments/enrolled_null_validation.py --windows ../runs/windows_train_v5.npz [--sizes 10 20] [--json OUT]
        [--cohort-subjects 001-037 --people 038-074]

Training subjects only (the windows cache of `python -m gaitid.training.cohort --cache`; the test subjects
075-124 are not read). As in experiments/openset_methods.py, 001-037 are the cohort (the middle window of
each of their walks) and galleries of k = 1, 2, 4, 10, 20 people (30 draws each, seed 0) are drawn from
038-074, enrolled from every window of nm-01..02; every nm-05..06, bg and cl walk of the 37 is decided
once on all its windows through `Gallery.decide` (benchmarks/openset_small_galleries.py's machinery), with
and without the enrolled people's null. The shipped model was trained on these subjects, so its vectors
separate them better than strangers': the figures say how the two decisions differ, not what a user meets.
With the windows of a model trained on some of 001-074 only (a validation arm), `--cohort-subjects` (its
training subjects) and `--people` (the ones it never saw) ask the same of people the model never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from openset_small_galleries import PROBES, new_counts, probe_walks, rates, run_gallery, tally  # noqa: E402

from gaitid.gallery.cohort import Cohort  # noqa: E402
from gaitid.training.cohort import WindowVectors, middle_windows  # noqa: E402
from gaitid.training.config import parse_subjects  # noqa: E402

COHORT = np.arange(1, 38)
PEOPLE = np.arange(38, 75)
SIZES = (1, 2, 4, 10, 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES,
                        help="gallery sizes (below 5 people the two decisions are the same by construction)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cohort-subjects", type=parse_subjects, default=list(COHORT),
                        help="the cohort's subjects (default 001-037)")
    parser.add_argument("--people", type=parse_subjects, default=list(PEOPLE),
                        help="the subjects enrolled and probed (default 038-074)")
    args = parser.parse_args()
    cohort_subjects, people_subjects = np.array(args.cohort_subjects), np.array(args.people)
    if max(cohort_subjects.max(), people_subjects.max()) > 74 or np.isin(cohort_subjects, people_subjects).any():
        raise SystemExit("validation reads training subjects 001-074 only, and the cohort must not hold the people")
    w = WindowVectors.load(args.windows)
    if w.subjects.max() > 74:
        raise SystemExit("validation reads training subjects 001-074 only")
    chosen = middle_windows(w.rows(np.isin(w.subjects, cohort_subjects)))
    cohort = Cohort.from_vectors(chosen.vectors, chosen.subjects.astype(str), w.model)
    people = w.rows(np.isin(w.subjects, people_subjects))
    walks = probe_walks(people)
    rng = np.random.default_rng(0)
    sizes = sorted(set(SIZES) | set(args.sizes))
    draws = {k: [np.sort(rng.choice(people_subjects, k, replace=False)) for _ in range(args.draws)]
             for k in sizes if k < len(people_subjects)}
    draws = {k: draws[k] for k in args.sizes if k in draws}  # the same draws whichever sizes are run
    results: dict = {"model": w.model, "draws": args.draws, "decisions": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for enrolled_null in (False, True):
            options = {"cohort": cohort, "shipped_cohort": False, "enrolled_null": enrolled_null}
            table = {}
            for k, galleries in draws.items():
                acc = new_counts()
                for enrolled in galleries:
                    tally(run_gallery(Path(tmp), people, enrolled, walks, options), enrolled, acc)
                table[k] = rates(acc)
                print(f"enrolled null {'on ' if enrolled_null else 'off'} k={k:2d}  " + "   ".join(
                    f"target {t}: FPIR {100 * v['fpir']:.2f} TPIR " + "/".join(f"{100 * v[f'tpir_{c}']:.1f}" for c in PROBES)
                    for t, v in table[k].items()), file=sys.stderr)
            results["decisions"]["with enrolled null" if enrolled_null else "cohort only"] = table
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
