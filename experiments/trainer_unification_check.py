"""Does the one trainer train as the two it replaced did? A few real steps of each kind of config, old
against new, compared bit for bit.

Run once in a checkout from before the merge (ba90e70: `gaitid train` for silhouettes, `gaitid
train-skeleton` for skeletons) and once in one after it, then compare:

    PYTHONPATH=<old checkout>/src python3 experiments/trainer_unification_check.py --which old --out old.json
    PYTHONPATH=src python3 experiments/trainer_unification_check.py --which new --out new.json
    python3 experiments/trainer_unification_check.py --compare old.json new.json

Each run trains from the repository's real configs (configs/gait, configs/skeleton) on a small set of
training subjects for a few steps on one thread and records the SHA-256 of the final weights and the
losses. The old skeleton trainer built its model before seeding torch, so its initial weights depended on
whatever ran before; here torch is seeded with the config's seed just before it, which is what the new
trainer does itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
STEPS = 12
SILHOUETTE = ["configs/gait/gaitset_strips_s.yaml", "configs/gait/gaitnn_lstm.yaml"]
SKELETON = ["configs/skeleton/ens_lift.yaml", "configs/skeleton/ens_lift3d.yaml", "configs/skeleton/heatmaps.yaml"]


def weights_digest(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def silhouette_raw(path: str, out: Path) -> dict:
    import yaml

    raw = yaml.safe_load((REPO / path).read_text())
    raw["data"]["subjects"] = "001-008"
    raw["sampler"] = {"p": 4, "k": 4}
    raw["schedule"] = {**raw["schedule"], "steps": STEPS, "warmup": 4}
    raw["trainer"] = {**raw["trainer"], "out_dir": str(out), "log_every": 1, "checkpoint_every": 1000,
                      "progress": False, "threads": 1}
    return raw


def run_old(path: str, out: Path) -> dict:
    if path.startswith("configs/gait"):
        from gaitid.training.config import config_from_dict
        from gaitid.training.trainer import train

        summary = train(config_from_dict(silhouette_raw(path, out)), log=lambda s: None)
        state = torch.load(out / "last.pt", map_location="cpu", weights_only=False)["model"]
        losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines()]
        return {"weights": weights_digest(state), "losses": losses, "final_loss": summary["loss"]}
    from gaitid.training.skeleton import load_train_config, train_skeleton

    overrides = {"people": [1, 8], "p": 4, "k": 2, "steps": STEPS, "warmup": 4, "out_dir": str(out),
                 "log_every": 1, "checkpoint_every": 1000, "threads": 1, "device": "cpu"}
    cfg = load_train_config(REPO / path, overrides)
    torch.manual_seed(cfg.seed)
    summary = train_skeleton(cfg)
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)["model"]
    losses = [float(line.split()[3]) for line in (out / "log.txt").read_text().splitlines()]
    return {"weights": weights_digest(state), "losses": losses, "final_loss": round(summary["loss"], 5)}


def run_new(path: str, out: Path) -> dict:
    from gaitid.training.config import config_from_dict, load_config
    from gaitid.training.trainer import train

    if path.startswith("configs/gait"):
        cfg = config_from_dict(silhouette_raw(path, out))
    else:
        overrides = {"data.subjects": "001-008", "sampler.p": 4, "sampler.k": 2, "schedule.steps": STEPS,
                     "schedule.warmup": 4, "trainer.out_dir": str(out), "trainer.log_every": 1,
                     "trainer.checkpoint_every": 1000, "trainer.threads": 1, "trainer.device": "cpu",
                     "trainer.progress": False}
        cfg = load_config(REPO / path, overrides)
    summary = train(cfg, log=lambda s: None)
    state = torch.load(out / "last.pt", map_location="cpu", weights_only=False)["model"]
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines()]
    return {"weights": weights_digest(state), "losses": losses, "final_loss": summary["loss"]}


def compare(old_path: str, new_path: str) -> int:
    old, new = json.loads(Path(old_path).read_text()), json.loads(Path(new_path).read_text())
    failures = 0
    for config in old:
        a, b = old[config], new[config]
        same_weights = a["weights"] == b["weights"]
        # the old skeleton log has 4 decimals, the new one 5: losses agree to the coarser of the two
        same_losses = len(a["losses"]) == len(b["losses"]) and all(
            abs(x - y) <= 1e-4 for x, y in zip(a["losses"], b["losses"])
        )
        failures += not (same_weights and same_losses)
        print(f"{config}: weights {'identical' if same_weights else 'DIFFER'}, {len(b['losses'])} losses "
              f"{'agree' if same_losses else 'DIFFER'} (final {a['final_loss']} / {b['final_loss']})")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--which", choices=["old", "new"])
    parser.add_argument("--out")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    torch.set_num_threads(1)
    run = run_old if args.which == "old" else run_new
    results = {}
    for path in SILHOUETTE + SKELETON:
        with tempfile.TemporaryDirectory() as tmp:
            results[path] = run(path, Path(tmp))
        print(path, results[path]["weights"][:16], results[path]["final_loss"], file=sys.stderr)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
