"""How fast the gallery is at scale: identification against 100,000 vectors, and enrolment as it grows.

    PYTHONPATH=src python benchmarks/gallery_speed.py [--vectors 100000] [--dim 256] [--per-person 10]
        [--like VECTORS.npz] [--methods cosine,svm] [--key]

Vectors are synthetic, drawn in one of two ways:
- isotropic (default): each person a random direction in --dim dimensions, their vectors scattered around it
  in every direction alike. The worst case for the cosine index's pruning (no structure to exploit).
- --like FILE.npz (`vectors`, `subjects`, e.g. a cache of gallery_casia_b.py): people drawn with the
  spectrum of real embeddings: person centres from the covariance of the real vectors, and each person's
  vectors scattered with the real within-person covariance (top 256 principal directions, plus isotropic
  noise holding the rest of the variance). The dimension is the real one.
Results are recorded in benchmarks/RESULTS-gallery.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gaitid.gallery import Gallery, GalleryStore
from gaitid.gallery.classifiers import CosineNN, LinearSVM
from gaitid.gallery.store import NewVector
from gaitid.types import Embedding

MODEL = "bench-model"


def _people(n_people: int, per: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, dim)).astype(np.float32)
    X = np.repeat(centres, per, axis=0) + 0.5 * rng.normal(size=(n_people * per, dim)).astype(np.float32)
    return X, np.repeat(np.arange(n_people), per)


def _people_like(path: str, n_people: int, per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    z = np.load(path)
    V = z["vectors"].astype(np.float64)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    labels = z["subjects"]
    rng = np.random.default_rng(seed)

    def sampler(M: np.ndarray):
        mean = M.mean(axis=0)
        _, sv, vt = np.linalg.svd(M - mean, full_matrices=False)
        var = sv**2 / len(M)
        k = min(256, len(var))
        rest = max(0.0, var[k:].sum()) / M.shape[1]

        def draw(n: int) -> np.ndarray:
            g = rng.normal(size=(n, k)) * np.sqrt(var[:k])
            return (g @ vt[:k] + np.sqrt(rest) * rng.normal(size=(n, M.shape[1]))).astype(np.float32)

        return mean, draw

    mean, draw_centre = sampler(V)
    residuals = V - np.stack([V[labels == s].mean(axis=0) for s in labels])
    _, draw_within = sampler(residuals)
    centres = mean + draw_centre(n_people)
    X = np.repeat(centres, per, axis=0) + draw_within(n_people * per)
    return X.astype(np.float32), np.repeat(np.arange(n_people), per)


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return f"median {1000 * statistics.median(samples):.2f} ms, p95 {1000 * p95:.2f} ms"


def _time_identify(gallery: Gallery, probes: np.ndarray, audit: bool) -> list[float]:
    gallery.audit_identifications = audit
    out = []
    for p in probes:
        t = time.perf_counter()
        gallery.identify(Embedding(p, MODEL))
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--per-person", type=int, default=10)
    parser.add_argument(
        "--svm-per-person", type=int, default=50, help="people x this = --vectors for the SVM run"
    )
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument(
        "--key", action="store_true", help="encrypt the gallery (times decryption on loading)"
    )
    parser.add_argument("--like", help="draw people with the statistics of these real vectors (see above)")
    parser.add_argument("--methods", default="cosine,svm")
    parser.add_argument("--no-table", action="store_true", help="skip the incremental-cost table")
    args = parser.parse_args()
    if args.like:
        args.dim = int(np.load(args.like)["vectors"].shape[1])

    def people(n_people: int, per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        if args.like:
            return _people_like(args.like, n_people, per, seed)
        return _people(n_people, per, args.dim, seed)

    print(
        f"# gallery speed: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {sys.version.split()[0]}, numpy {np.__version__}, load {os.getloadavg()[0]:.1f}"
    )
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        runs = {"cosine": args.per_person, "svm": args.svm_per_person}
        for method in args.methods.split(","):
            per = runs[method]
            n_people = args.vectors // per
            X, y = people(n_people, per + 1)  # one more vector per person: held out, the probes
            held_out = np.r_[np.diff(y) != 0, True]
            probe_pool, X, y = X[held_out], X[~held_out], y[~held_out]
            path = Path(folder) / f"{method}.db"
            t = time.perf_counter()
            key = b"benchmark key" if args.key else None
            with GalleryStore(path, key=key) as store:
                batch = []
                for p in range(n_people):
                    rows = X[y == p]
                    batch.append((f"person-{p:06d}", [NewVector(v, MODEL) for v in rows], None))
                    if len(batch) == 500:
                        store.enroll_many(batch)
                        batch = []
                if batch:
                    store.enroll_many(batch)
            build = time.perf_counter() - t
            size = path.stat().st_size / 2**20
            what = f"like {args.like}" if args.like else "isotropic"
            print(
                f"\n## {method}: {n_people} people x {per} = {len(X)} vectors of {args.dim}-d, {what}"
                + (", encrypted" if key else "")
            )
            print(f"store: written in {build:.1f} s (batches of 500 people), {size:.0f} MiB")
            with Gallery.open(path, key=key, method=method) as gallery:
                matrix = np.ascontiguousarray(X / np.linalg.norm(X, axis=1, keepdims=True))
                floor = []
                for p in X[:50]:
                    t = time.perf_counter()
                    matrix @ p
                    floor.append(time.perf_counter() - t)
                print(f"floor: one matrix-vector product over all {len(X)} vectors (numpy): {_ms(floor)}")
                t = time.perf_counter()
                index = gallery._index(MODEL)
                print(
                    f"index: loaded and fitted in {time.perf_counter() - t:.2f} s ({type(index.classifier).__name__})"
                )
                if method == "cosine":
                    index.classifier.top_k(X[:1])  # builds the projection used for pruning
                    print(f"projection for pruning built in {time.perf_counter() - t:.2f} s (cumulative)")
                t = time.perf_counter()
                gallery._calibration(index)
                print(
                    f"calibration: {time.perf_counter() - t:.2f} s "
                    f"({len(index.calibration.nonmated)} non-mated searches)"
                )
                probes = probe_pool[rng.choice(len(probe_pool), args.probes, replace=False)]
                _time_identify(gallery, probes[:10], False)  # warm up
                print(f"identify, one probe, top-5, no audit: {_ms(_time_identify(gallery, probes, False))}")
                print(f"identify, one probe, top-5, audited:  {_ms(_time_identify(gallery, probes, True))}")
                if method == "cosine":
                    share = index.classifier._pruned
                    print(
                        f"  share of vectors compared exactly after pruning (running mean): {share:.3f}"
                        + (" (pruning off: fell back to the full product)" if share > 0.3 else "")
                    )
                t = time.perf_counter()
                gallery.identify_batch(probes, MODEL)
                print(
                    f"identify_batch of {args.probes}: {1000 * (time.perf_counter() - t) / args.probes:.2f} ms per probe"
                )
                # enrolment of one more person, then the first identification (the incremental update)
                samples_enrol, samples_first = [], []
                for k in range(5):
                    new = (rng.normal(size=args.dim) + 0.5 * rng.normal(size=(per, args.dim))).astype(
                        np.float32
                    )
                    t = time.perf_counter()
                    gallery.enroll(f"newcomer-{k}", [Embedding(v, MODEL) for v in new])
                    samples_enrol.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    gallery.identify(Embedding(new[0], MODEL))
                    samples_first.append(time.perf_counter() - t)
                print(f"enrol one more person ({per} vectors, one transaction): {_ms(samples_enrol)}")
                print(f"first identification after it (incremental index update): {_ms(samples_first)}")

        if args.no_table:
            return
        print("\n## incremental cost of adding one person, by gallery size (in memory, no store)")
        print("| people | vectors | CosineNN.partial_fit | LinearSVM.partial_fit | LinearSVM.fit (all) |")
        print("|---:|---:|---:|---:|---:|")
        for n_people in (100, 1000, 10000):
            X, y = people(n_people + 1, 10, seed=2)
            head = y < n_people
            nn = CosineNN().fit(X[head], y[head])
            t = time.perf_counter()
            nn.partial_fit(X[~head], y[~head])
            nn_time = time.perf_counter() - t
            svm_full = "-"
            if n_people <= 1000:
                t = time.perf_counter()
                svm = LinearSVM().fit(X[head], y[head])
                svm_full = f"{time.perf_counter() - t:.2f} s"
            else:  # fitting 10,000 SVMs takes minutes: give the others zero weights, time the newcomer only
                svm = LinearSVM()
                svm.classes_ = np.arange(n_people)
                svm.X_ = X[head] / np.linalg.norm(X[head], axis=1, keepdims=True)
                svm.y_index_ = y[head]
                svm.n_features_in_ = args.dim
                svm.coef_ = np.zeros((n_people, args.dim), np.float32)
                svm.intercept_ = np.zeros(n_people, np.float32)
                svm.stale_ = np.zeros(n_people, bool)
                svm.background_ = np.zeros((0, args.dim), np.float32)
            t = time.perf_counter()
            svm.partial_fit(X[~head], y[~head])
            svm_time = time.perf_counter() - t
            print(
                f"| {n_people} | {int(head.sum())} | {1000 * nn_time:.1f} ms | {1000 * svm_time:.1f} ms | {svm_full} |"
            )


if __name__ == "__main__":
    main()
