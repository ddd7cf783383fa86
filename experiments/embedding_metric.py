"""Which form of the silhouette model's output to compare (benchmarks/GAIT_RESULTS.md, "Which vector to compare").

Embeds a cross-view protocol's sequences once with a training checkpoint, keeping the strips before and
after the BN-neck, and scores five forms of the vector with the protocol's rank-1:

    PYTHONPATH=src python3 experiments/embedding_metric.py ../runs/val/long2400/step002400.pt \
        --protocol casia-b-val --cache ../runs/val/long2400_strips.npz --json experiments/results/embedding_metric.json

Choices are made on casia-b-val (a checkpoint trained on 013-074); the test subjects are not for this.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gaitid.datasets.casia_b import load_casia_b
from gaitid.evaluation.crossview import frame_subset, refuse_seen_subjects
from gaitid.evaluation.metrics import cross_view_rank1, euclidean_distances, mean_over_gallery_views
from gaitid.evaluation.protocols import PROTOCOLS
from gaitid.training.trainer import load_checkpoint


def unit_strips(strips: np.ndarray) -> np.ndarray:
    """(N, P, d) -> (N, P * d), each strip scaled to unit length."""
    norms = np.linalg.norm(strips, axis=-1, keepdims=True)
    return (strips / np.maximum(norms, 1e-12)).reshape(len(strips), -1)


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def variants(raw: np.ndarray, bn: np.ndarray) -> dict[str, np.ndarray]:
    """Vectors whose Euclidean distance gives each variant's ranking (cosine: unit vectors)."""
    flat = raw.reshape(len(raw), -1)
    return {
        "raw, euclidean": flat,
        "raw, cosine": unit(flat),
        "raw, per-strip unit": unit_strips(raw),
        "bnneck, euclidean": bn.reshape(len(bn), -1),
        "bnneck, per-strip unit": unit_strips(bn),
    }


def embed(checkpoint: Path, protocol_name: str, max_frames: int | None) -> dict[str, np.ndarray]:
    refuse_seen_subjects(checkpoint, PROTOCOLS[protocol_name].subjects)
    model, cfg, meta = load_checkpoint(checkpoint)
    protocol = PROTOCOLS[protocol_name]
    conditions = list(protocol.gallery) + [c for cs in protocol.probes.values() for c in cs]
    data = load_casia_b(protocol.subjects, "test", None, conditions=conditions)
    raw, bn = [], []
    with torch.no_grad():
        for i in range(len(data)):
            frames = data.frames(i, frame_subset(data.num_frames(i), max_frames)).astype(np.float32)
            x = torch.from_numpy(np.ascontiguousarray(frames))[None, :, None]
            strips = model.forward_head(model.forward_features(x), pre_logits=True)  # (1, P, d)
            n, p, d = strips.shape
            after = model.head.bn(strips.reshape(n, -1)).reshape(n, p, d)
            raw.append(strips[0].numpy())
            bn.append(after[0].numpy())
    return {
        "raw": np.stack(raw), "bn": np.stack(bn),
        "subject": np.array([k.subject for k in data.keys]), "view": np.array([k.view for k in data.keys]),
        "condition": np.array([k.condition for k in data.keys]),
    }


def rank1(vectors: np.ndarray, cache: dict[str, np.ndarray], protocol_name: str) -> dict[str, float]:
    protocol = PROTOCOLS[protocol_name]
    gallery = np.isin(cache["condition"], protocol.gallery)
    labels, views = cache["subject"], cache["view"]
    out = {}
    for name, probe_conditions in protocol.probes.items():
        probe = np.isin(cache["condition"], probe_conditions)
        table = cross_view_rank1(
            euclidean_distances(vectors[probe], vectors[gallery]), labels[probe], views[probe],
            labels[gallery], views[gallery], protocol.views, protocol.exclude_identical_views,
        )
        out[name] = round(float(np.nanmean(mean_over_gallery_views(table) * 100)), 2)
    out["mean"] = round(float(np.mean([out[k] for k in protocol.probes])), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--protocol", default="casia-b-val", choices=sorted(PROTOCOLS))
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="keep (or reuse) the strips in this .npz")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.cache and args.cache.exists():
        cache = dict(np.load(args.cache))
    else:
        cache = embed(args.checkpoint, args.protocol, args.max_frames)
        if args.cache:
            np.savez(args.cache, **cache)
    results = {name: rank1(v, cache, args.protocol) for name, v in variants(cache["raw"], cache["bn"]).items()}
    for name, r in results.items():
        print(f"{name:24s} " + "  ".join(f"{k} {v:6.2f}" for k, v in r.items()))
    if args.json:
        args.json.write_text(json.dumps({
            "checkpoint": str(args.checkpoint), "protocol": args.protocol, "max_frames": args.max_frames,
            "sequences": int(len(cache["raw"])), "rank1": results,
        }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
