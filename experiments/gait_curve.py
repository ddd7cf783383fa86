"""Accuracy against training time: export every checkpoint of a training run to ONNX and run a CASIA-B
protocol on it. One JSON line per checkpoint (step, training and CPU seconds, NM/BG/CL rank-1).

    PYTHONPATH=src python experiments/gait_curve.py RUN_DIR OUT.jsonl [--max-frames 30] [--protocol casia-b-val]

The protocol is the validation subjects' (`casia-b-val`, 001-012) unless `--protocol casia-b` is asked for:
intermediate checkpoints are scored on identities a choice may use, and the test subjects 075-124 once per
shipped model (the version-4 curve in GAIT_RESULTS.md predates that rule).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from gaitid.evaluation.crossview import evaluate_cross_view, make_embedder, refuse_seen_subjects
from gaitid.evaluation.protocols import PROTOCOLS
from gaitid.training.export import export_silhouette_onnx
from gaitid.training.trainer import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--steps", help="comma-separated steps to evaluate (default: all checkpoints)")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="casia-b-val")
    args = parser.parse_args()
    done = set()
    out = Path(args.out)
    if out.is_file():
        done = {json.loads(line)["step"] for line in out.read_text().splitlines()}
    wanted = None if not args.steps else {int(s) for s in args.steps.split(",")}
    for ckpt in sorted(Path(args.run_dir).glob("step*.pt")):
        _, cfg, meta = load_checkpoint(ckpt)
        if meta["step"] in done or (wanted is not None and meta["step"] not in wanted):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_silhouette_onnx(ckpt, Path(tmp) / "m.onnx")
            refuse_seen_subjects(onnx_path, PROTOCOLS[args.protocol].subjects)
            embed, name = make_embedder(onnx_path)
            result = evaluate_cross_view(PROTOCOLS[args.protocol], embed, name, max_frames=args.max_frames, progress=False)
        row = {
            "model": cfg.name,
            "step": meta["step"],
            "train_seconds": meta["train_seconds"],
            "cpu_seconds": meta.get("cpu_seconds"),
            "protocol": args.protocol,
            "max_frames": args.max_frames,
            **result["rank1"],
            "ms_per_sequence": result["ms_per_sequence"],
        }
        print(json.dumps(row), flush=True)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
