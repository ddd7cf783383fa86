"""casia-b-val24 of several networks and of ensembles composed from them, each network embedded once.

Each member is scored with gaitid's own protocol code (`evaluate_cross_view`, what `gaitid evaluate casia-b-val24`
runs) through `GaitEncoder` on two threads, and its per-sequence vectors are kept beside its file
(`NAME.val24.npy`); each ensemble is then scored by the same protocol code from those vectors, composed as
`gaitid.training.export.compose_silhouette_ensemble` composes them (each unit vector times the root of its
share of the squared distance, side by side), so an ensemble costs no embedding. Results accumulate in OUT.

    PYTHONPATH=src python3 experiments/val24_members.py OUT.json a=A.onnx b=B.onnx -- ab=a:1,b:1 a3b=a:3,b:1

Used by the rules "The wider network as a fourth member" and "Convolutions in int8" (benchmarks/GAIT_RESULTS.md).
SUBJECTS=1,2 restricts the protocol to those subjects (a smoke test).
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from gaitid.evaluation.crossview import evaluate_cross_view
from gaitid.evaluation.protocols import PROTOCOLS
from gaitid.gait.encoder import GaitEncoder

PROTOCOL = PROTOCOLS["casia-b-val24"]
SUBJECTS = tuple(int(s) for s in os.environ["SUBJECTS"].split(",")) if os.environ.get("SUBJECTS") else None


def mean(result: dict) -> float:
    return round(float(np.mean(list(result["rank1"].values()))), 2)


def score_member(path: str) -> tuple[dict, np.ndarray]:
    encoder, store = GaitEncoder(path, threads=2), []

    def embed(frames: np.ndarray) -> np.ndarray:
        vector = encoder.embed(frames).vector
        store.append(vector)
        return vector

    started = time.time()
    result = evaluate_cross_view(PROTOCOL, embed, encoder.model, subjects=SUBJECTS, progress=False)
    result["wall_seconds"] = round(time.time() - started)
    return result, np.stack(store)


def score_ensemble(name: str, spec: str, vectors: dict[str, np.ndarray]) -> dict:
    parts = [item.split(":") for item in spec.split(",")]
    weights = np.array([float(w) for _, w in parts])
    shares = weights / weights.sum()
    units = [vectors[m] / np.linalg.norm(vectors[m], axis=1, keepdims=True) for m, _ in parts]
    combined = np.concatenate([np.float32(np.sqrt(s)) * u for s, u in zip(shares, units)], axis=1).astype(np.float32)
    rows = iter(range(len(combined)))
    result = evaluate_cross_view(PROTOCOL, lambda frames: combined[next(rows)], name, subjects=SUBJECTS, progress=False)
    result["members"] = {m: float(s) for (m, _), s in zip(parts, shares)}
    return result


def main(argv: list[str]) -> None:
    out, args = Path(argv[0]), argv[1:]
    split = args.index("--") if "--" in args else len(args)
    members = dict(a.split("=", 1) for a in args[:split])
    ensembles = dict(a.split("=", 1) for a in args[split + 1:])
    results = json.loads(out.read_text()) if out.exists() else {}
    vectors = {}
    for name, path in members.items():
        cache = Path(path).with_suffix(".val24.npy")
        if cache.exists() and name in results:
            vectors[name] = np.load(cache)
            continue
        results[name], vectors[name] = score_member(path)
        np.save(cache, vectors[name])
        results[name].pop("tables")
        print(name, results[name]["rank1"], mean(results[name]), f"{results[name]['wall_seconds']} s", flush=True)
        out.write_text(json.dumps(results, indent=1))
    for name, spec in ensembles.items():
        results[name] = score_ensemble(name, spec, vectors)
        results[name].pop("tables")
        print(name, results[name]["rank1"], mean(results[name]), flush=True)
        out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
