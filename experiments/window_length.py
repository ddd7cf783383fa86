"""How many silhouettes a gait window needs, and over how long: rank-1 on a cross-view protocol when each
sequence is embedded from a window of K frames taken every S-th frame (the central ones). S = 3 on CASIA-B's
25 frames/s is a camera at 8.3 frames/s, as many CCTV recorders are set; K = 30, S = 1 is the pipeline's
default window at 25 frames/s. For the record of a design question (windows in time for slow cameras),
measured on the validation subjects with a checkpoint that never saw them:

    PYTHONPATH=src python3 experiments/window_length.py ../runs/val/long2400.onnx \
        --windows 30x1 15x1 10x3 15x3 20x3 30x3 --json experiments/results/window_length.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gaitid.datasets.casia_b import load_casia_b
from gaitid.evaluation.crossview import make_embedder, refuse_seen_subjects
from gaitid.evaluation.metrics import cross_view_rank1, euclidean_distances, mean_over_gallery_views
from gaitid.evaluation.protocols import PROTOCOLS


def central(num_frames: int, count: int, step: int) -> np.ndarray:
    """The central `count` frames taken every `step`-th (fewer when the sequence is shorter)."""
    span = min(num_frames, (count - 1) * step + 1)
    start = (num_frames - span) // 2
    return np.arange(start, start + span, step)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--protocol", default="casia-b-val", choices=sorted(PROTOCOLS))
    parser.add_argument("--windows", nargs="+", default=["30x1", "15x1", "10x3", "15x3", "20x3", "30x3"],
                        help="KxS: K frames, every S-th")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    protocol = PROTOCOLS[args.protocol]
    refuse_seen_subjects(args.weights, protocol.subjects)
    conditions = list(protocol.gallery) + [c for cs in protocol.probes.values() for c in cs]
    data = load_casia_b(protocol.subjects, "test", None, conditions=conditions)
    embed, model = make_embedder(args.weights, args.threads)
    labels = np.array([k.subject for k in data.keys])
    views = np.array([k.view for k in data.keys])
    conds = np.array([k.condition for k in data.keys])
    gallery = np.isin(conds, protocol.gallery)
    results = {}
    for spec in args.windows:
        count, step = (int(x) for x in spec.split("x"))
        vectors = np.stack([
            embed(data.frames(i, central(data.num_frames(i), count, step)).astype(np.float32)) for i in range(len(data))
        ])
        row = {}
        for name, probe_conditions in protocol.probes.items():
            probe = np.isin(conds, probe_conditions)
            table = cross_view_rank1(
                euclidean_distances(vectors[probe], vectors[gallery]), labels[probe], views[probe],
                labels[gallery], views[gallery], protocol.views, protocol.exclude_identical_views,
            )
            row[name] = round(float(np.nanmean(mean_over_gallery_views(table) * 100)), 2)
        row["mean"] = round(float(np.mean([row[k] for k in protocol.probes])), 2)
        results[spec] = row
        print(f"{spec:>6}  " + "  ".join(f"{k} {v:6.2f}" for k, v in row.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": model, "weights": args.weights, "protocol": args.protocol,
                                         "sequences": len(data), "rank1": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
