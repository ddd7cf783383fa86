"""Does centring each domain on its own mean cost anything where the cohort is like the footage?
(the vtest side: experiments/site_centring_vtest.py; both in benchmarks/RESULTS-openset.md)

    python experiments/site_centring_validation.py --windows ../runs/val/frames20_bf16.windows.npz \
        --cohort-subjects 013-074 --people 001-012 [--sizes 1 2 4 10] [--arms ARM ...] [--json OUT]

Training subjects only (a windows cache of `python -m gaitid.training.cohort --cache`; the test subjects
075-124 are not read). The cohort is the middle window of each walk of `--cohort-subjects`; galleries of k
people (30 draws each, seed 0) are drawn from `--people`, enrolled from every window of nm-01..02, and
every nm-05..06, bg and cl walk of `--people` is decided once on all its windows through `Gallery.decide`
(benchmarks/openset_small_galleries.py's machinery), once per arm: as the gallery does today, centred (every
window of `--people`, L2-normalised, minus the site's mean; the cohort minus its own mean). The site here
is the laboratory; its mean comes from the windows of every nm-01..02 walk of `--people` (the footage a
site enrols from, identities unused), never from a probe walk. Further arms: "offset" (every window of
`--people`, L2-normalised, minus the site's mean plus the cohort's mean; the cohort as today), "centred
loo" (as "centred", but each person's enrolment windows centred by the site's mean without their own),
"matched" (as "centred", but the cohort's people centred in random groups of as many people as the site
has, site_centring_vtest.group_centred), and "cohort-centred" (every window of `--people` and the cohort
minus the cohort's mean).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from site_centring_vtest import group_centred  # noqa: E402
from openset_small_galleries import ENROL, format_rates, new_counts, probe_walks, rates, run_gallery, tally  # noqa: E402

from gaitid.gallery.cohort import Cohort  # noqa: E402
from gaitid.training.cohort import WindowVectors, middle_windows  # noqa: E402
from gaitid.training.config import parse_subjects  # noqa: E402

SIZES = (1, 2, 4, 10)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def leave_one_out_means(vectors: np.ndarray, subjects: np.ndarray, enrol: np.ndarray) -> np.ndarray:
    """Per row, the site's mean (the enrolment windows) to subtract: without the row's own person for
    enrolment rows, the whole site's for probe rows (whose identity a site would not know)."""
    total, count = vectors[enrol].sum(0), int(enrol.sum())
    means = np.broadcast_to(total / count, vectors.shape).copy()
    for s in np.unique(subjects[enrol]):
        own = enrol & (subjects == s)
        means[own] = (total - vectors[own].sum(0)) / (count - own.sum())
    return means


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--arms", nargs="+", default=None, help="only these arms (default: all)")
    parser.add_argument("--cohort-subjects", type=parse_subjects, required=True)
    parser.add_argument("--people", type=parse_subjects, required=True)
    args = parser.parse_args()
    cohort_subjects, people_subjects = np.array(args.cohort_subjects), np.array(args.people)
    if max(cohort_subjects.max(), people_subjects.max()) > 74 or np.isin(cohort_subjects, people_subjects).any():
        raise SystemExit("validation reads training subjects 001-074 only, and the cohort must not hold the people")
    w = WindowVectors.load(args.windows)
    chosen = middle_windows(w.rows(np.isin(w.subjects, cohort_subjects)))
    people = w.rows(np.isin(w.subjects, people_subjects))
    people_unit = unit(people.vectors)
    enrol = np.isin(people.conditions, ENROL)
    site_mean = people_unit[enrol].mean(0)
    cohort_unit = unit(chosen.vectors)
    cohort_mean = cohort_unit.mean(0)
    labels = chosen.subjects.astype(str)
    today = Cohort.from_vectors(chosen.vectors, labels, w.model)
    centred = Cohort.from_vectors(cohort_unit - cohort_mean, labels, w.model)

    def shifted(shift: np.ndarray) -> WindowVectors:
        return dataclasses.replace(people, vectors=(people_unit - shift).astype(np.float32))

    arms = {
        "today": (today, people),
        "centred": (centred, shifted(site_mean)),
        "offset": (today, shifted(site_mean - cohort_mean)),
        "centred loo": (centred, shifted(leave_one_out_means(people_unit, people.subjects, enrol))),
        "matched": (group_centred(today, len(people_subjects)), shifted(site_mean)),
        "cohort-centred": (centred, shifted(cohort_mean)),
    }
    if args.arms:
        unknown = set(args.arms) - set(arms)
        if unknown:
            raise SystemExit(f"no arm {sorted(unknown)}; the arms are {list(arms)}")
        arms = {name: arm for name, arm in arms.items() if name in args.arms}
    rng = np.random.default_rng(0)
    draws = {k: [np.sort(rng.choice(people_subjects, k, replace=False)) for _ in range(args.draws)]
             for k in args.sizes if k < len(people_subjects)}
    results: dict = {"model": w.model, "draws": args.draws, "decisions": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for arm, (cohort, vectors) in arms.items():
            options = {"cohort": cohort, "shipped_cohort": False}
            walks = probe_walks(vectors)
            table = {}
            for k, galleries in draws.items():
                acc = new_counts()
                for enrolled in galleries:
                    tally(run_gallery(Path(tmp), vectors, enrolled, walks, options), enrolled, acc)
                table[k] = rates(acc)
                row = "   ".join(f"target {t}: {format_rates(v)}" for t, v in table[k].items())
                print(f"{arm:8s} k={k:2d}  {row}", file=sys.stderr, flush=True)
            results["decisions"][arm] = table
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
