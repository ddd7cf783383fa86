"""Does centring each domain on its own mean let the shipped cohort calibrate vtest's walkers?

Why: on vtest, any two walkers' vectors score higher against each other (mean cosine of walk halves 0.96)
than the cohort's laboratory walkers do (0.91), so a stranger filmed by the same camera as an enrolled
person passes the cohort's threshold (RESULTS-openset.md). If what they share is a common offset of the
site (camera, distance, pipeline silhouettes), subtracting the site's mean vector, and the cohort's own mean
from the cohort, puts both on one footing.

The draws, walkers and halves are benchmarks/identify_vtest.py's (same seed, same dealing). What a site
knows before it identifies anyone is the footage it enrolled from and the site walkers' first halves (the
walkers `cohort + site` adds to the cohort); the site's mean is taken from exactly those windows. Eight
decisions on the same probes, each through `Gallery.decide` as the pipeline calls it:
- "cohort", "cohort + site": as identify_vtest.py;
- "centred": every vtest window (L2-normalised, as the cohort's are) minus the site's mean, the shipped
  cohort minus its own mean;
- "centred + site": the same, with the centred site walkers added to the cohort;
- "offset": every vtest window (L2-normalised) minus the site's mean plus the shipped cohort's mean, the
  shipped cohort as it is (only the offset between the two domains is removed);
- "centred loo": as "centred", but each enrolled walker's windows are centred by the site's mean without
  their own windows (a probe's identity is unknown, so probes keep the whole site's mean);
- "matched": as "centred", but each cohort person centred on the mean of a random group of as many cohort
  people as walkers gave the site's mean (`group_centred`), so the cohort carries the site's bias;
- "cohort-centred": every vtest window (L2-normalised) and the cohort minus the shipped cohort's mean.

    python3 experiments/site_centring_vtest.py --cache ../runs/window_rule/vtest_20_10.npz \
        [--decisions D ...] [--json experiments/results/site_centring_vtest.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from identify_vtest import SIZES, deal, new_counts, summary, tally, track_vectors, walk_answers, walker_halves  # noqa: E402

from gaitid.gallery import Gallery  # noqa: E402
from gaitid.gallery.cohort import Cohort, shipped_cohort  # noqa: E402
from gaitid.types import Embedding  # noqa: E402

DECISIONS = ("cohort", "cohort + site", "centred", "centred + site", "offset", "centred loo", "matched", "cohort-centred")


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def group_centred(cohort: Cohort, n: int, seed: int = 0) -> Cohort:
    """The cohort's people dealt at random into round(N / n) groups as equal as possible, each person's
    (L2-normalised) vectors minus the mean of their group's vectors."""
    people = np.unique(cohort.labels)
    order = np.random.default_rng(seed).permutation(people)
    centred = unit(cohort.vectors).copy()
    for group in np.array_split(order, max(1, round(len(people) / n))):
        rows = np.isin(cohort.labels, group)
        centred[rows] -= centred[rows].mean(0)
    return Cohort.from_vectors(centred, cohort.labels, cohort.model)


def site_shift(decision: str, site_mean: np.ndarray, cohort_mean: np.ndarray) -> np.ndarray | None:
    """What is subtracted from every (L2-normalised) vtest window; None: the windows as they are."""
    if decision.startswith("centred") or decision == "matched":
        return site_mean
    if decision == "offset":
        return site_mean - cohort_mean
    if decision == "cohort-centred":
        return cohort_mean
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="identify_vtest.py's cache of vtest's windows")
    parser.add_argument("--json", dest="json_path", type=Path)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--decisions", nargs="+", choices=DECISIONS, default=DECISIONS, help="default: all")
    args = parser.parse_args()
    tracks, model, (size, stride) = track_vectors(args.cache)
    walkers = walker_halves(tracks, size, stride)
    ids = sorted(walkers)
    shipped = shipped_cohort(model)
    cohort_mean = shipped.vectors.mean(0)
    centred_cohort = Cohort.from_vectors(shipped.vectors - cohort_mean, shipped.labels, model)
    rng = np.random.default_rng(0)  # the same dealing as identify_vtest.py
    results: dict = {"model": model, "walkers": ids, "window": [size, stride], "draws": args.draws, "galleries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for k in SIZES:
            counts = new_counts(args.decisions)
            for draw in range(args.draws):
                enrolled, site, strangers = deal(rng, ids, k)
                known = {t: unit(np.stack(walkers[t][0])) for t in enrolled + site}
                total, count = sum(v.sum(0) for v in known.values()), sum(len(v) for v in known.values())
                site_mean = total / count
                for number, decision in enumerate(args.decisions):
                    shift = site_shift(decision, site_mean, cohort_mean)

                    def prep(windows: list[np.ndarray], shift: np.ndarray | None = shift) -> list[np.ndarray]:
                        return windows if shift is None else [unit(v) - shift for v in windows]

                    def enrolment(t: str) -> list[np.ndarray]:
                        if decision != "centred loo":
                            return prep(walkers[t][0])
                        without = (total - known[t].sum(0)) / (count - len(known[t]))
                        return prep(walkers[t][0], without)

                    if decision == "matched":
                        options = {"cohort": group_centred(shipped, len(known)), "shipped_cohort": False}
                    elif decision.startswith("centred") or decision == "cohort-centred":
                        options = {"cohort": centred_cohort, "shipped_cohort": False}
                    else:
                        options = {}
                    with Gallery.open(Path(tmp) / f"g{k}_{draw}_{number}.db", audit_identifications=False,
                                      **options) as gallery:
                        for t in enrolled:
                            gallery.enroll(f"w{t}", [Embedding(v, model, size) for v in enrolment(t)])
                        if decision.endswith("+ site"):
                            for t in site:
                                gallery.add_cohort(f"site{t}", [Embedding(v, model, size) for v in prep(walkers[t][0])])
                        for t in enrolled + strangers:
                            tally(counts[decision], t, t in enrolled, walk_answers(gallery, model, prep(walkers[t][1])))
            results["galleries"][k] = summary(k, counts)
    if args.json_path:
        args.json_path.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
