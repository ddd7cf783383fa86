"""The mean of a training run's step checkpoints as one checkpoint (weight averaging, as in SWA), for the
rule "The mean of the last quarter's weights" in ../benchmarks/GAIT_RESULTS.md:

    PYTHONPATH=src python3 experiments/average_checkpoints.py ../runs/val/lr2_4800 --steps 3600-4800 \
        --out ../runs/val/lr2_4800_avg.pt

Every floating-point tensor of the model (weights and the batch-norm running statistics alike) is the
plain mean over the chosen checkpoints; integer counters are the last checkpoint's. The result has the
last checkpoint's format, so `gaitid export` and `gaitid evaluate` take it as they take any step file.
Averaging the running statistics rather than measuring them again on training clips is an approximation
that holds where the averaged weights lie close together (the low-learning-rate end of one cosine run).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from gaitid.training.trainer import read_checkpoint, save_checkpoint


def average_states(states: list[dict[str, Any]]) -> dict[str, Any]:
    """The last state with its model's floating-point tensors replaced by their mean over `states`."""
    if not states:
        raise ValueError("no checkpoints to average")
    keys = states[-1]["model"].keys()
    if any(s["model"].keys() != keys for s in states):
        raise ValueError("the checkpoints hold different models")
    model = {}
    for key, last in states[-1]["model"].items():
        if last.is_floating_point():
            model[key] = torch.stack([s["model"][key].float() for s in states]).mean(0).to(last.dtype)
        else:
            model[key] = last.clone()
    return {**states[-1], "model": model, "averaged_steps": [int(s["step"]) for s in states]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a training run's folder (its stepNNNNNN.pt files)")
    parser.add_argument("--steps", required=True, help="FIRST-LAST: every step checkpoint in that range")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    first, last = (int(x) for x in args.steps.split("-"))
    paths = sorted(p for p in args.run.glob("step*.pt") if first <= int(p.stem[4:]) <= last)
    if not paths:
        raise SystemExit(f"no step checkpoints between {first} and {last} in {args.run}")
    averaged = average_states([read_checkpoint(p) for p in paths])
    save_checkpoint(args.out, averaged)
    print(f"{args.out}: the mean of {len(paths)} checkpoints, steps {averaged['averaged_steps']}")


if __name__ == "__main__":
    main()
