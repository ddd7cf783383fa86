"""Vector search for the archive index: exact against approximate, FAISS against usearch.

Model-like vectors: the shipped cohort's real window vectors (8,107 vectors of 74 CASIA-B people, 1024-d,
made by the shipped model), each generated vector a random mix of two windows of one person plus Gaussian
noise (cosine to the mix about 0.98, the spread of one person's windows), unit length. Queries are made the
same way. Ground truth: exact inner-product top 10. Reports build time, single-query latency p50/p99 (one
query at a time, as `gaitid search` asks) and recall@10 against exact search.

    python3 benchmarks/archive_vectors.py --n 100000 --backends numpy,faiss-flat,faiss-hnsw,faiss-ivf,usearch-f16,usearch-i8
    python3 benchmarks/archive_vectors.py --n 1000000 --backends faiss-ivf,usearch-i8 --json benchmarks/results/archive_vectors_1m.json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery.cohort import shipped_cohort


def model_like(n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    cohort = shipped_cohort(GaitEncoder().model)
    base, labels = cohort.vectors, cohort.labels
    by_person = {p: np.flatnonzero(labels == p) for p in np.unique(labels)}
    people = list(by_person)
    out = np.empty((n, base.shape[1]), np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        who = rng.integers(len(people), size=m)
        first = np.array([rng.choice(by_person[people[w]]) for w in who])
        second = np.array([rng.choice(by_person[people[w]]) for w in who])
        mix = rng.random((m, 1), dtype=np.float32)
        x = mix * base[first] + (1 - mix) * base[second]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x += rng.normal(0, 0.2 / np.sqrt(base.shape[1]), x.shape).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    return index.search(queries, k)[1]


def build(name: str, data: np.ndarray):  # type: ignore[no-untyped-def]
    d = data.shape[1]
    if name == "numpy":
        def search(q: np.ndarray, k: int) -> np.ndarray:
            scores = data @ q
            top = np.argpartition(-scores, k)[:k]
            return top[np.argsort(-scores[top])]
        return search
    if name.startswith("faiss"):
        import faiss

        if name == "faiss-flat":
            index = faiss.IndexFlatIP(d)
        elif name == "faiss-hnsw":
            index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
        elif name.startswith("faiss-ivf"):
            nlist = int(2 * np.sqrt(len(data)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = data[np.random.default_rng(1).choice(len(data), min(len(data), 30 * nlist), replace=False)]
            index.train(sample)
        index.add(data)
        if name == "faiss-hnsw":
            index.hnsw.efSearch = 128
        if name.startswith("faiss-ivf"):
            index.nprobe = 32

        def search(q: np.ndarray, k: int) -> np.ndarray:
            return index.search(q[None, :], k)[1][0]
        return search
    if name.startswith("usearch"):
        from usearch.index import Index

        dtype = name.split("-")[1]
        index = Index(ndim=d, metric="ip", dtype=dtype, connectivity=16, expansion_add=128, expansion_search=128)
        index.add(np.arange(len(data)), data, log=False)

        def search(q: np.ndarray, k: int) -> np.ndarray:
            return index.search(q, k).keys
        return search
    raise SystemExit(f"unknown backend {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--backends", default="numpy,faiss-flat,faiss-hnsw,faiss-ivf,usearch-f16,usearch-i8")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    data = model_like(args.n, rng)
    queries = model_like(args.queries, np.random.default_rng(1))
    print(f"{args.n} vectors of {data.shape[1]} made in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    truth = exact_top(data, queries, 10)
    results = []
    for name in args.backends.split(","):
        t = time.perf_counter()
        search = build(name, data)
        built = time.perf_counter() - t
        search(queries[0], 10)  # warm
        times, hits = [], 0
        for q, true in zip(queries, truth):
            t = time.perf_counter()
            found = search(q, 10)
            times.append(time.perf_counter() - t)
            hits += len(set(np.asarray(found).tolist()) & set(true.tolist()))
        row = {
            "backend": name, "n": args.n, "build_s": round(built, 1),
            "p50_ms": round(1000 * float(np.percentile(times, 50)), 2),
            "p99_ms": round(1000 * float(np.percentile(times, 99)), 2),
            "recall_at_10": round(hits / (10 * len(queries)), 4),
            "max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
        del search
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump({"command": " ".join(sys.argv), "results": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
