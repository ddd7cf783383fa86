"""The training loop: P x K batches of short clips, triplet + cross-entropy, checkpoints, resume.

Reproducible: all randomness comes from the config's seed (a numpy Generator for sampling, torch's seed for
initialisation), and both generators' states are saved in every checkpoint, so a run that is interrupted
and resumed draws the same batches as one that was not.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gaitid.errors import GaitidError
from gaitid.training.nets import GaitModelConfig
from gaitid.training.registry import create_from_config, model_config
from gaitid.gait.spec import InputSpec
from gaitid.training.config import TrainConfig, parse_subjects
from gaitid.datasets.casia_b import GaitSequences, load_casia_b
from gaitid.training.losses import part_cross_entropy, triplet_loss
from gaitid.training.sampler import PKSampler, sample_frames

LAST = "last.pt"


def batch_tensor(data: GaitSequences, indices: np.ndarray, frames: int, mode: str, rng: np.random.Generator) -> torch.Tensor:
    """(N, T, 1, 64, 44) float32 clips of the sequences at `indices`."""
    clips = [data.frames(int(i), sample_frames(data.num_frames(int(i)), frames, mode, rng)) for i in indices]
    return torch.from_numpy(np.stack(clips).astype(np.float32)).unsqueeze(2)


def _optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    o = cfg.optimizer
    if o.name == "adam":
        return torch.optim.Adam(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of the base learning rate at `step` (linear warm-up, then the schedule)."""
    s = cfg.schedule
    if s.warmup and step < s.warmup:
        return (step + 1) / s.warmup
    if s.kind == "cosine":
        progress = (step - s.warmup) / max(s.steps - s.warmup, 1)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if s.kind == "multistep":
        return s.gamma ** sum(step >= m for m in s.milestones)
    return 1.0


def build_model_config(cfg: TrainConfig, num_classes: int) -> GaitModelConfig:
    settings = {k: v for k, v in cfg.model.items() if k != "name"}
    return model_config(str(cfg.model["name"]), num_classes=num_classes, **settings)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: an interruption never leaves a half-written checkpoint


def load_model(path: Path | str) -> tuple[torch.nn.Module, GaitModelConfig, dict[str, Any]]:
    """The model of a checkpoint, in eval mode, with its config and the checkpoint's metadata."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    try:
        raw = dict(ckpt["model_config"])
        raw["input"] = InputSpec(**{**raw["input"], "channels_names": tuple(raw["input"]["channels_names"])})
        raw["widths"] = tuple(raw["widths"])
        mcfg = GaitModelConfig(**raw)
        model = create_from_config(mcfg)
        model.load_state_dict(ckpt["model"])
    except Exception as error:  # a damaged or foreign checkpoint fails in many ways
        raise not_a_checkpoint(path, error) from None
    model.eval()
    meta = {k: ckpt[k] for k in ("step", "train_seconds", "cpu_seconds", "train_config") if k in ckpt}
    return model, mcfg, meta


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The saved state of a training checkpoint; a file that is not one raises GaitidError."""
    if not path.is_file():
        raise GaitidError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # any file can be given, and torch.load fails on each kind in its own way
        raise GaitidError(f"{path}: not a PyTorch checkpoint file") from None
    if not isinstance(state, dict) or "model_config" not in state or "model" not in state:
        raise GaitidError(f"{path}: a PyTorch file, but not a gaitid training checkpoint")
    return state


def not_a_checkpoint(path: Path, error: Exception) -> GaitidError:
    """The one-line error for a checkpoint whose model cannot be rebuilt (a damaged or foreign one)."""
    reason = " ".join(str(error).split())[:100]
    return GaitidError(f"{path}: not a usable gaitid training checkpoint ({type(error).__name__}: {reason})")


#: Sections that may change when a run is resumed: a run can be lengthened or shortened (the schedule
#: follows the new length from the step it resumes at) and its logging and checkpointing retuned.
RESUMABLE_CHANGES = ("schedule", "trainer")


def _check_resumable(old: dict[str, Any], new: dict[str, Any], path: Path, log: Callable[[str], None]) -> None:
    for section in sorted(set(old) | set(new)):
        if old.get(section) == new.get(section):
            continue
        if section not in RESUMABLE_CHANGES:
            raise GaitidError(
                f"{path} was written by a config with another [{section}]; use another out_dir or --no-resume"
            )
        log(f"resuming with a changed [{section}]: {old.get(section)} -> {new.get(section)}")


def train(
    cfg: TrainConfig,
    resume: bool = True,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
    data: GaitSequences | None = None,
) -> dict[str, Any]:
    """Train as `cfg` says; resume from out_dir/last.pt when it exists and `resume` is set.

    stop_after: stop after this many steps of this call (for tests and time-boxed runs).
    data: training sequences already in memory (tests); default: read the config's subjects.
    Returns a summary: final step, training seconds (wall clock of the steps) and CPU seconds of this
    process (counted since this feature existed in the run), last logged losses.
    """
    torch.set_num_threads(cfg.trainer.threads)
    out = Path(cfg.trainer.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = load_casia_b(parse_subjects(cfg.data.subjects), "train", cfg.data.root)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mcfg = build_model_config(cfg, num_classes=len(data.subjects))
    model = create_from_config(mcfg)
    optimizer = _optimizer(cfg, model)
    step, train_seconds, cpu_seconds = 0, 0.0, 0.0
    last = out / LAST
    if resume and last.is_file():
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        _check_resumable(ckpt["train_config"], cfg.to_dict(), last, log)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        step, train_seconds = int(ckpt["step"]), float(ckpt["train_seconds"])
        cpu_seconds = float(ckpt.get("cpu_seconds", 0.0))
        log(f"resumed from {last} at step {step}")
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    sampler = PKSampler(data.labels, cfg.sampler.p, cfg.sampler.k)
    end = cfg.schedule.steps if stop_after is None else min(cfg.schedule.steps, step + stop_after)
    progress = None
    if cfg.trainer.progress:
        from tqdm import tqdm

        progress = tqdm(total=cfg.schedule.steps, initial=step, desc="train", unit="step", mininterval=5)

    def state() -> dict[str, Any]:
        return {
            "model_config": dataclasses.asdict(mcfg),
            "model": model.state_dict(),
            "step": step,
            "train_seconds": train_seconds,
            "cpu_seconds": cpu_seconds,
            "train_config": cfg.to_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }

    summary: dict[str, Any] = {}
    model.train()
    with open(out / "log.jsonl", "a") as log_file:
        while step < end:
            t0, c0 = time.perf_counter(), time.process_time()
            for group in optimizer.param_groups:
                group["lr"] = cfg.optimizer.lr * lr_factor(cfg, step)
            idx = sampler.sample(rng)
            labels = torch.from_numpy(data.labels[idx])
            x = batch_tensor(data, idx, cfg.data.frames, cfg.data.frame_sampling, rng)
            result = model(x)
            tri, active = triplet_loss(result["parts"], labels, cfg.loss.triplet_margin)
            ce = part_cross_entropy(result["logits"], labels, cfg.loss.label_smoothing)
            loss = cfg.loss.triplet_weight * tri + cfg.loss.ce_weight * ce
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            train_seconds += time.perf_counter() - t0
            cpu_seconds += time.process_time() - c0
            if step % cfg.trainer.log_every == 0 or step == end:
                acc = (result["logits"].mean(1).argmax(1) == labels).float().mean().item()
                summary = {
                    "step": step,
                    "loss": round(loss.item(), 5),
                    "triplet": round(tri.item(), 5),
                    "ce": round(ce.item(), 5),
                    "active_triplets": round(active, 4),
                    "accuracy": round(acc, 4),
                    "lr": optimizer.param_groups[0]["lr"],
                    "train_seconds": round(train_seconds, 1),
                    "cpu_seconds": round(cpu_seconds, 1),
                }
                log_file.write(json.dumps(summary) + "\n")
                log_file.flush()
                if progress is not None:
                    progress.set_postfix(loss=summary["loss"], acc=summary["accuracy"])
            if progress is not None:
                progress.update(1)
            if step % cfg.trainer.checkpoint_every == 0 or step == end:
                s = state()
                save_checkpoint(last, s)
                if step % cfg.trainer.checkpoint_every == 0:
                    save_checkpoint(out / f"step{step:06d}.pt", {k: s[k] for k in ("model_config", "model", "step", "train_seconds", "cpu_seconds", "train_config")})
    if progress is not None:
        progress.close()
    summary.setdefault("step", step)
    summary["train_seconds"] = round(train_seconds, 1)
    summary["cpu_seconds"] = round(cpu_seconds, 1)
    return summary
