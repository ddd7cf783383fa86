"""The gallery on CASIA-B: closed-set rank-1 through the gallery, and open-set rates with strangers.

    PYTHONPATH=src python benchmarks/gallery_casia_b.py [--weights NAME|FILE.onnx] [--cache vectors.npz]
        [--max-frames N] [--splits 10] [--background] [--out results.json]

Test subjects 075-124 only (never used for training or tuning). Each subject's walks are embedded once by
the gait encoder (gaitid.gait.encoder.GaitEncoder: the shipped model by default); --cache keeps the vectors.

1. Closed set, the standard cross-view protocol, through the gallery: for each gallery view, a gallery of
   the 50 subjects enrolled from nm-01..04 at that view (cosine nearest neighbour); probes nm-05..06 (NM),
   bg-01..02 (BG), cl-01..02 (CL) from every other view; rank-1 averaged over the 10 other gallery views,
   then over the 11 probe views. Shown beside the same protocol by Euclidean nearest neighbour on the raw
   vectors (what `gaitid evaluate` computes), to check they agree.
2. Closed set, all views enrolled: each subject enrolled with all 44 nm-01..04 walks (11 views x 4), as a
   real gallery would be; rank-1 of every probe, with the SVM and with cosine nearest neighbour.
3. Open set: 25 of the 50 subjects enrolled (all views of nm-01..04), the other 25 are strangers; every
   probe of the 50 is searched. FNIR at FPIR = 1 % and 10 % and the equal error rate, from the raw scores;
   and the FPIR/FNIR actually obtained at the gallery's own thresholds for target FPIR 1 % and 10 % (its
   calibration: the gallery itself, or with --background the training subjects 001-074's nm-01..02 walks as
   known strangers: for the SVM half of them are also extra negatives, the other half calibrate). Mean and standard deviation over --splits random choices of the 25.

CASIA-B's location: $GAITID_DATA/casia-b (default ../shared/data/casia-b relative to the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitid.evaluation.openset import eer_value, equal_error_rate, fnir_at_fpir, rank1_accuracy
from gaitid.gallery import Gallery
from gaitid.gallery.cohort import Cohort

TEST_SUBJECTS = tuple(range(75, 125))
TRAIN_SUBJECTS = tuple(range(1, 75))
GALLERY_CONDITIONS = ("nm-01", "nm-02", "nm-03", "nm-04")
PROBE_SETS = {"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")}
VIEWS = tuple(f"{v:03d}" for v in range(0, 181, 18))
CUT = slice(10, 54)  # the middle 44 of 64 columns, as the gait models are trained


def data_root() -> Path:
    env = os.environ.get("GAITID_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def load_walks(root: Path, subjects: tuple[int, ...], conditions: tuple[str, ...]):
    """Yield (subject, condition, view, silhouettes (T, 64, 44) uint8 0/1) for the walks present."""
    for subject in subjects:
        path = root / "casia-b" / f"{subject:03d}.npz"
        if not path.is_file():
            raise SystemExit(f"CASIA-B not found: {path} (set GAITID_DATA to the shared data folder)")
        with np.load(path) as npz:
            for key in sorted(npz.files):
                condition, view = key.split("_")
                if condition not in conditions:
                    continue
                packed = npz[key]
                if packed.shape[0] == 0:
                    continue
                yield subject, condition, view, np.unpackbits(packed, axis=-1)[:, :, CUT]


def embed_walks(args: argparse.Namespace, subjects: tuple[int, ...], conditions: tuple[str, ...], tag: str):
    """(vectors, subjects, conditions, views, model) for the walks, from the cache when there."""
    cache = None if args.cache is None else Path(f"{args.cache}.{tag}.npz")
    if cache is not None and cache.is_file():
        z = np.load(cache)
        print(f"vectors from {cache}", file=sys.stderr)
        return z["vectors"], z["subjects"], z["conditions"], z["views"], str(z["model"])
    if args.gei:
        encoder = GaitEnergyImage()
    else:
        from gaitid.gait.encoder import GaitEncoder

        encoder = GaitEncoder(args.weights, threads=args.threads)
    vectors, subs, conds, views = [], [], [], []
    t0 = time.perf_counter()
    for i, (subject, condition, view, frames) in enumerate(load_walks(data_root(), subjects, conditions)):
        if args.max_frames and len(frames) > args.max_frames:  # the central clip, as gaitid evaluate takes
            start = (len(frames) - args.max_frames) // 2
            frames = frames[start : start + args.max_frames]
        vectors.append(encoder.embed(frames).vector)
        subs.append(subject)
        conds.append(condition)
        views.append(view)
        if i % 500 == 0:
            print(f"  embedded {i} walks ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    out = (np.stack(vectors), np.array(subs), np.array(conds), np.array(views), encoder.model)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, vectors=out[0], subjects=out[1], conditions=out[2], views=out[3], model=out[4])
    return out


class GaitEnergyImage:
    """A classic baseline, not a trained model: the walk's mean silhouette (its gait energy image, Han &
    Bhanu 2006) at 32 x 22, centred. Lets this script run, and gives a floor to compare the model with."""

    model = "gei-32x22"

    def embed(self, frames: np.ndarray):
        from gaitid.types import Embedding

        gei = frames.astype(np.float32).mean(axis=0).reshape(32, 2, 22, 2).mean(axis=(1, 3)).ravel()
        return Embedding(gei - gei.mean(), self.model, len(frames))


def _gallery(folder: str, tag: str, **options) -> Gallery:
    return Gallery.open(Path(folder) / f"{tag}.db", audit_identifications=False, **options)


def _enrol(gallery: Gallery, vectors, subjects, model: str, rows: np.ndarray) -> None:
    from gaitid.gallery.store import NewVector

    entries = []
    for s in np.unique(subjects[rows]):
        mine = rows & (subjects == s)
        entries.append((f"{s:03d}", [NewVector(v, model) for v in vectors[mine]], None))
    gallery.store.enroll_many(entries)


def cross_view(folder, vectors, subjects, conds, views, model):
    """Rank-1 (%) per probe set: through cosine galleries, and by Euclidean NN on raw vectors."""
    probe_masks = {name: np.isin(conds, c) for name, c in PROBE_SETS.items()}
    enrolled = np.isin(conds, GALLERY_CONDITIONS)
    through = {name: np.full((len(VIEWS), len(VIEWS)), np.nan) for name in PROBE_SETS}
    euclid = {name: np.full((len(VIEWS), len(VIEWS)), np.nan) for name in PROBE_SETS}
    for g, gview in enumerate(VIEWS):
        rows = enrolled & (views == gview)
        gallery = _gallery(folder, f"view-{gview}", method="cosine")
        _enrol(gallery, vectors, subjects, model, rows)
        for name, mask in probe_masks.items():
            for p, pview in enumerate(VIEWS):
                if pview == gview:
                    continue
                probe = mask & (views == pview)
                if not probe.any():
                    continue
                names, _ = gallery.search(vectors[probe], model, top_k=1)
                predicted = np.array([int(n[0]) for n in names])
                through[name][p, g] = rank1_accuracy(predicted, subjects[probe])
                d = ((vectors[probe][:, None, :] - vectors[rows][None, :, :]) ** 2).sum(-1)
                euclid[name][p, g] = rank1_accuracy(subjects[rows][np.argmin(d, axis=1)], subjects[probe])
        gallery.close()
    return (
        {n: 100 * float(np.nanmean(np.nanmean(t, axis=1))) for n, t in through.items()},
        {n: 100 * float(np.nanmean(np.nanmean(t, axis=1))) for n, t in euclid.items()},
    )


def all_views_rank1(folder, vectors, subjects, conds, model, method):
    gallery = _gallery(folder, f"all-{method}", method=method)
    _enrol(gallery, vectors, subjects, model, np.isin(conds, GALLERY_CONDITIONS))
    out = {}
    for name, c in PROBE_SETS.items():
        probe = np.isin(conds, c)
        names, _ = gallery.search(vectors[probe], model, top_k=1)
        out[name] = 100 * rank1_accuracy(np.array([int(n[0]) for n in names]), subjects[probe])
    gallery.close()
    return out


def open_set(folder, vectors, subjects, conds, model, method, splits, background):
    """Per probe set: lists over splits of FNIR@FPIR 1 %, 10 %, EER, and rates at the gallery's thresholds."""
    results: dict[str, dict[str, list[float]]] = {name: {} for name in PROBE_SETS}
    people = np.unique(subjects)
    for split in range(splits):
        rng = np.random.default_rng(split)
        inside = np.sort(rng.permutation(people)[: len(people) // 2])
        options = {"method": method, "shipped_cohort": False}  # this benchmark predates the shipped cohort
        if background is not None:
            options["cohort"] = Cohort.from_vectors(background[0], background[1].astype(str), model)
        gallery = _gallery(folder, f"open-{method}-{split}", **options)
        _enrol(
            gallery, vectors, subjects, model, np.isin(conds, GALLERY_CONDITIONS) & np.isin(subjects, inside)
        )
        thresholds = {}
        for target in (0.01, 0.10):
            gallery.target_fpir = target
            thresholds[target] = gallery.threshold(model)
        for name, c in PROBE_SETS.items():
            probe = np.isin(conds, c)
            names, raw = gallery.search(vectors[probe], model, top_k=1)
            top = raw[:, 0].astype(np.float64)
            best = np.array([int(n[0]) for n in names])
            mated = np.isin(subjects[probe], inside)
            correct = best[mated] == subjects[probe][mated]
            row = results[name]
            decided_names, decided = gallery.scores(vectors[probe], model)  # the scores the thresholds apply to
            decided_top = decided.max(axis=1).astype(np.float64)
            decided_correct = np.array([int(decided_names[i]) for i in decided.argmax(axis=1)])[mated] == subjects[probe][mated]
            for target in (0.01, 0.10):
                point = fnir_at_fpir(top[mated], correct, top[~mated], target)
                row.setdefault(f"FNIR@FPIR={target:.0%}", []).append(100 * point.fnir)
                t = thresholds[target]
                row.setdefault(f"own threshold {target:.0%}: FPIR", []).append(
                    100 * float(np.mean(decided_top[~mated] >= t))
                )
                row.setdefault(f"own threshold {target:.0%}: FNIR", []).append(
                    100 * float(1 - np.mean(decided_correct & (decided_top[mated] >= t)))
                )
            row.setdefault("EER", []).append(
                100 * eer_value(equal_error_rate(top[mated], correct, top[~mated]))
            )
            row.setdefault("closed-set rank-1 of mated", []).append(100 * float(np.mean(correct)))
        gallery.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights", help="a shipped model's name or an .onnx file (default: the shipped default)"
    )
    parser.add_argument("--cache", help="keep the vectors in PREFIX.test.npz and PREFIX.train.npz")
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="embed the central clip of at most this many frames per walk (as gaitid evaluate --max-frames)",
    )
    parser.add_argument("--splits", type=int, default=10, help="random choices of the 25 enrolled subjects")
    parser.add_argument(
        "--background", action="store_true", help="calibrate with training subjects as strangers"
    )
    parser.add_argument("--gei", action="store_true", help="use the gait-energy-image baseline, not a model")
    parser.add_argument(
        "--subjects",
        choices=["test", "train"],
        default="test",
        help="test: 075-124, the figures to report; train: 001-074 (first 50 of them), for design decisions",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write all figures as JSON here")
    args = parser.parse_args()

    conditions = GALLERY_CONDITIONS + tuple(c for cs in PROBE_SETS.values() for c in cs)
    if args.subjects == "train":  # a validation run: decide on these, never on the test subjects
        if args.background:
            raise SystemExit("--background uses the training subjects: not with --subjects train")
        vectors, subjects, conds, views, model = embed_walks(
            args, TRAIN_SUBJECTS[:50], conditions, "validation"
        )
    else:
        vectors, subjects, conds, views, model = embed_walks(args, TEST_SUBJECTS, conditions, "test")
    background = None
    if args.background:
        bg_vectors, bg_subjects, _, _, bg_model = embed_walks(
            args, TRAIN_SUBJECTS, ("nm-01", "nm-02"), "train"
        )
        if bg_model != model:
            raise SystemExit(
                f"background vectors from {bg_model}, test vectors from {model}: delete the cache"
            )
        background = (bg_vectors, bg_subjects)
    report: dict = {
        "model": model,
        "walks": len(vectors),
        "max_frames": args.max_frames,
        "splits": args.splits,
    }
    print(
        f"# CASIA-B through the gallery: model {model}, {len(vectors)} walks of {args.subjects} subjects "
        f"{subjects.min():03d}-{subjects.max():03d}"
    )
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        through, euclid = cross_view(folder, vectors, subjects, conds, views, model)
        report["cross_view"] = {"gallery_cosine": through, "euclidean": euclid}
        print("\n## Closed set, standard cross-view protocol (rank-1 %, identical views excluded)")
        print("| | NM | BG | CL |\n|---|---:|---:|---:|")
        print(
            "| through the gallery (cosine NN) | "
            + " | ".join(f"{through[n]:.2f}" for n in PROBE_SETS)
            + " |"
        )
        print(
            "| Euclidean NN on raw vectors (as gaitid evaluate) | "
            + " | ".join(f"{euclid[n]:.2f}" for n in PROBE_SETS)
            + " |"
        )
        print(f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)

        print("\n## Closed set, all 11 views of nm-01..04 enrolled (rank-1 %)")
        print("| method | NM | BG | CL |\n|---|---:|---:|---:|")
        report["all_views"] = {}
        for method in ("svm", "cosine"):
            r = all_views_rank1(folder, vectors, subjects, conds, model, method)
            report["all_views"][method] = r
            print(f"| {method} | " + " | ".join(f"{r[n]:.2f}" for n in PROBE_SETS) + " |")

        calibration = "training subjects 001-074 as strangers" if args.background else "the gallery itself"
        print(
            f"\n## Open set: 25 of 50 enrolled, {args.splits} splits, mean ± sd (%); calibration: {calibration}"
        )
        report["open_set"] = {}
        for method in ("svm", "cosine"):
            t = time.perf_counter()
            r = open_set(folder, vectors, subjects, conds, model, method, args.splits, background)
            report["open_set"][method] = {
                n: {k: [float(np.mean(v)), float(np.std(v))] for k, v in m.items()} for n, m in r.items()
            }
            columns = list(r["NM"])
            print(f"\n### {method}\n| probes | " + " | ".join(columns) + " |")
            print("|---|" + "---:|" * len(columns))
            for name, m in r.items():
                print(
                    f"| {name} | "
                    + " | ".join(f"{np.mean(m[c]):.2f} ± {np.std(m[c]):.2f}" for c in columns)
                    + " |"
                )
            print(f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
