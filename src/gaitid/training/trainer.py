"""The one training loop of silhouette and skeleton models: P x K batches of short clips, triplet +
cross-entropy (+ the 3-D lifting loss of models that lift), checkpoints, resume, a CPU or a CUDA GPU.

Reproducible: all randomness comes from the config's seed (a numpy Generator for sampling, torch's seed for
initialisation), and both generators' states are saved in every checkpoint, so a run that is interrupted
and resumed draws the same batches as one that was not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gaitid.datasets.casia_b import GaitSequences
from gaitid.datasets.kinect import KinectWalk
from gaitid.errors import GaitidError
from gaitid.training.batches import Batch, BatchStream, load_batches
from gaitid.training.config import TrainConfig, config_from_dict
from gaitid.training.losses import part_cross_entropy, triplet_loss
from gaitid.training.registry import create_from_config, model_config, model_config_from_dict
from gaitid.training.sampler import PKSampler

LAST = "last.pt"


def _optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    o = cfg.optimizer
    if o.name == "adam":
        return torch.optim.Adam(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def lr_factor(cfg: TrainConfig, step: int, elapsed: float = 0.0) -> float:
    """Multiplier of the base learning rate at `step`, `elapsed` seconds into this invocation: linear
    warm-up, then the schedule; a cosine follows the steps or the time budget, whichever is further on."""
    s = cfg.schedule
    if s.warmup and step < s.warmup:
        return (step + 1) / s.warmup
    if s.kind == "cosine":
        progress = (step - s.warmup) / max(s.steps - s.warmup, 1)
        if s.max_seconds > 0:
            progress = max(progress, elapsed / s.max_seconds)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    if s.kind == "multistep":
        return s.gamma ** sum(step >= m for m in s.milestones)
    return 1.0


def training_device(name: str) -> torch.device:
    """The torch device for `name`: "auto" is CUDA when a GPU is there, else the CPU; "cuda" without a GPU
    is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise GaitidError("device 'cuda' asked for, but torch sees no CUDA GPU (use 'auto' or 'cpu')")
    return torch.device(name)


def _native_bf16() -> bool:
    """Whether oneDNN computes bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def training_precision(setting: str, device: torch.device) -> str:
    """[trainer] precision resolved on `device`: "auto" is bf16 on a CPU that computes it natively."""
    if setting == "auto":
        return "bf16" if device.type == "cpu" and _native_bf16() else "fp32"
    return setting


def build_model_config(cfg: TrainConfig, num_classes: int, frames: int) -> Any:
    """The model's config with the training set's classes; a skeleton model that embeds walks in windows
    (spec.window 0) gets windows as long as the training clips, so inference sees what training saw."""
    settings = {k: v for k, v in cfg.model.items() if k != "name"}
    mcfg = model_config(str(cfg.model["name"]), **settings).replace(num_classes=num_classes)
    spec = getattr(mcfg, "spec", None)
    if spec is not None and spec.window == 0:
        mcfg = mcfg.replace(spec=dataclasses.replace(spec, window=frames))
    return mcfg


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: an interruption never leaves a half-written checkpoint


def load_checkpoint(path: Path | str) -> tuple[torch.nn.Module, Any, dict[str, Any]]:
    """The model of a training checkpoint of either modality, in eval mode, with its typed config and the
    checkpoint's metadata (step, train_config, ...)."""
    path = Path(path)
    state = read_checkpoint(path)
    try:
        mcfg = _saved_model_config(state)
        model = create_from_config(mcfg)
        model.load_state_dict(state["model"])
    except Exception as error:  # a damaged or foreign checkpoint fails in many ways
        raise not_a_checkpoint(path, error) from None
    model.eval()
    meta = {k: state[k] for k in ("step", "train_seconds", "cpu_seconds", "train_config") if k in state}
    return model, mcfg, meta


def casia_train_subjects(meta: dict[str, Any]) -> str:
    """The CASIA-B subjects a checkpoint (its `load_checkpoint` metadata) was trained on, as its config wrote
    them ("013-074"); "" for another data set or a checkpoint that does not say."""
    config = meta.get("train_config")
    if isinstance(config, str):
        config = json.loads(config)
    data = config.get("data") if isinstance(config, dict) else None
    if not isinstance(data, dict) or data.get("dataset", "casia-b") != "casia-b":
        return ""
    return str(data.get("subjects", ""))


def _saved_model_config(state: dict[str, Any]) -> Any:
    raw = state["model_config"]
    if isinstance(raw, str):  # written by the former skeleton trainer: JSON text
        raw = json.loads(raw)
        if "window" not in raw["spec"] and state.get("train_config"):
            # from before SkeletonSpec.window: embed in windows of the training clip length
            raw["spec"]["window"] = int(json.loads(state["train_config"]).get("clip_frames", 0))
    return model_config_from_dict(raw)


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
#: follows the new length from the step it resumes at) and its logging, checkpointing and device retuned.
RESUMABLE_CHANGES = ("schedule", "trainer")


def _with_defaults(saved: dict[str, Any] | str) -> dict[str, Any]:
    """A saved config read as today's code reads it: a setting added since the run was written takes its
    default, which is what the run trained with. One that no longer parses is compared as it was saved."""
    if isinstance(saved, str):  # the former skeleton trainer saved its flat config as JSON text
        saved = json.loads(saved)
    try:
        return config_from_dict(saved).to_dict()
    except (GaitidError, TypeError, ValueError):
        return saved


def _check_resumable(old: dict[str, Any], new: dict[str, Any], path: Path, log: Callable[[str], None]) -> None:
    old = _with_defaults(old)
    for section in sorted(set(old) | set(new)):
        if old.get(section) == new.get(section):
            continue
        if section not in RESUMABLE_CHANGES:
            raise GaitidError(
                f"{path} was written by a config with another [{section}]; use another out_dir or --no-resume"
            )
        log(f"resuming with a changed [{section}]: {old.get(section)} -> {new.get(section)}")


class _Run:
    """The state of one training run: model, optimizer, random generators and counters."""

    def __init__(self, cfg: TrainConfig, num_classes: int, device: torch.device, precision: str) -> None:
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.model_config = build_model_config(cfg, num_classes, cfg.data.frames)
        self.model = create_from_config(self.model_config).to(device)
        if cfg.trainer.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)  # only 4-D weights change layout
        self.optimizer = _optimizer(cfg, self.model)
        self.cfg, self.device, self.precision = cfg, device, precision
        self.step, self.train_seconds, self.cpu_seconds = 0, 0.0, 0.0

    def resume(self, path: Path, log: Callable[[str], None]) -> None:
        state = torch.load(path, map_location=self.device, weights_only=False)
        _check_resumable(state["train_config"], self.cfg.to_dict(), path, log)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        self.step, self.train_seconds = int(state["step"]), float(state["train_seconds"])
        self.cpu_seconds = float(state.get("cpu_seconds", 0.0))
        log(f"resumed from {path} at step {self.step}")

    def init_weights(self, path: Path, log: Callable[[str], None]) -> None:
        """Start from the weights of another run's checkpoint (fine-tuning); layers of another shape are
        left as initialised. A checkpoint of another architecture is an error."""
        saved = read_checkpoint(path)["model"]
        own = self.model.state_dict()
        if set(saved) != set(own):
            raise GaitidError(f"{path}: its weights are of another architecture than [model] (trainer.init_from)")
        kept = {k: v for k, v in saved.items() if v.shape == own[k].shape}
        self.model.load_state_dict({**own, **kept})
        skipped = sorted(set(own) - set(kept))
        log(f"weights from {path}" + (f"; left as initialised (other shape): {', '.join(skipped)}" if skipped else ""))

    def weights(self) -> dict[str, Any]:
        """What a step checkpoint holds: enough to evaluate and export."""
        return {
            "model_config": dataclasses.asdict(self.model_config),
            "model": {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
            "step": self.step,
            "train_seconds": self.train_seconds,
            "cpu_seconds": self.cpu_seconds,
            "train_config": self.cfg.to_dict(),
        }

    def state(self, rng_state: dict[str, Any]) -> dict[str, Any]:
        """Everything to resume exactly where the run stopped; `rng_state`: the sampling generator's state
        after the last batch trained on (batches made ahead are drawn again on resuming)."""
        return {
            **self.weights(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state,
            "torch_rng": torch.get_rng_state(),
        }

    def batch_stream(self, batches: Any, sampler: PKSampler) -> BatchStream:
        """The run's batches from its generator, made ahead as [trainer] prefetch says."""
        ahead = self.cfg.trainer.prefetch
        return BatchStream(batches, sampler, self.rng, ahead, pin=ahead > 0 and self.device.type == "cuda")

    def train_step(self, batch: Batch, elapsed: float) -> dict[str, torch.Tensor]:
        """One optimisation step on a P x K batch; returns its losses."""
        t0, c0 = time.perf_counter(), time.process_time()
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.optimizer.lr * lr_factor(self.cfg, self.step, elapsed)
        result = self.losses(batch)
        self.optimizer.zero_grad(set_to_none=True)
        result["loss"].backward()
        self.optimizer.step()
        self.step += 1
        self.train_seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        return result

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The forward pass's precision ([trainer] precision); the losses are computed in float32."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        """The loss of one batch and its parts; "logits" for the accuracy."""
        loss_cfg = self.cfg.loss
        x = batch.x.to(self.device, non_blocking=True)
        labels = batch.labels.to(self.device, non_blocking=True)
        with self.autocast():
            result = {k: v.float() if v.is_floating_point() else v for k, v in self.model(x).items()}
        tri, active = triplet_loss(result["parts"], labels, loss_cfg.triplet_margin)
        ce = part_cross_entropy(result["logits"], labels, loss_cfg.label_smoothing)
        out = {"loss": loss_cfg.triplet_weight * tri + loss_cfg.ce_weight * ce, "triplet": tri, "ce": ce,
               "active_triplets": torch.tensor(active), "logits": result["logits"], "labels": labels}
        if "lifted" in result and batch.lift_target is not None:
            lift = torch.nn.functional.smooth_l1_loss(result["lifted"], batch.lift_target.to(self.device))
            out["loss"] = out["loss"] + loss_cfg.lift_weight * lift
            out["lift"] = lift
        return out


def train(
    cfg: TrainConfig,
    resume: bool = True,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
    data: GaitSequences | list[KinectWalk] | None = None,
) -> dict[str, Any]:
    """Train as `cfg` says; resume from out_dir/last.pt when it exists and `resume` is set.

    stop_after: stop after this many steps of this call (for tests and time-boxed runs).
    data: training data already in memory (tests): CASIA-B sequences or Kinect walks; default: read the
    config's subjects.
    Returns a summary: final step, training seconds (wall clock of the steps) and CPU seconds of this
    process (counted since this feature existed in the run), last logged losses, device and checkpoint.
    """
    torch.set_num_threads(cfg.trainer.threads)
    device = training_device(cfg.trainer.device)
    if cfg.trainer.precision == "bf16" and device.type == "cpu" and not _native_bf16():
        log("warning: [trainer] precision is bf16, and this CPU has no native bfloat16: steps will be several "
            "times slower than in fp32")
    precision = training_precision(cfg.trainer.precision, device)
    if precision != cfg.trainer.precision:
        log(f"[trainer] precision auto: {precision} on this {device.type}")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest convolutions
    out = Path(cfg.trainer.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in cfg.model.items() if k != "name"}
    skeleton_spec = getattr(model_config(str(cfg.model["name"]), **settings), "spec", None)
    batches = load_batches(cfg.data, skeleton_spec, data)
    run = _Run(cfg, len(np.unique(batches.labels)), device, precision)
    last = out / LAST
    if resume and last.is_file():
        run.resume(last, log)
    elif cfg.trainer.init_from:
        run.init_weights(Path(cfg.trainer.init_from), log)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    sampler = PKSampler(batches.labels, cfg.sampler.p, cfg.sampler.k)
    end = cfg.schedule.steps if stop_after is None else min(cfg.schedule.steps, run.step + stop_after)
    progress = None
    if cfg.trainer.progress:
        from tqdm import tqdm

        progress = tqdm(total=cfg.schedule.steps, initial=run.step, desc="train", unit="step", mininterval=5)
    summary: dict[str, Any] = {}
    started = time.perf_counter()
    budget = cfg.schedule.max_seconds
    run.model.train()
    stream = run.batch_stream(batches, sampler)
    try:
        with open(out / "log.jsonl", "a") as log_file:
            out_of_time = False
            while run.step < end and not out_of_time:
                result = run.train_step(stream.next(), time.perf_counter() - started)
                out_of_time = budget > 0 and time.perf_counter() - started >= budget
                if run.step % cfg.trainer.log_every == 0 or run.step == end or out_of_time:
                    summary = _log_line(run, result)
                    log_file.write(json.dumps(summary) + "\n")
                    log_file.flush()
                    if progress is not None:
                        progress.set_postfix(loss=summary["loss"], acc=summary["accuracy"])
                if progress is not None:
                    progress.update(1)
                if run.step % cfg.trainer.checkpoint_every == 0:
                    save_checkpoint(last, run.state(stream.rng_state()))
                    save_checkpoint(out / f"step{run.step:06d}.pt", run.weights())
        if run.step % cfg.trainer.checkpoint_every:  # stopped between checkpoints: keep where it stopped
            save_checkpoint(last, run.state(stream.rng_state()))
    finally:
        stream.close()
    if progress is not None:
        progress.close()
    summary.setdefault("step", run.step)
    summary.update(train_seconds=round(run.train_seconds, 1), cpu_seconds=round(run.cpu_seconds, 1),
                   device=str(device), checkpoint=str(last))
    return summary


def _log_line(run: _Run, result: dict[str, torch.Tensor]) -> dict[str, Any]:
    accuracy = (result["logits"].mean(1).argmax(1) == result["labels"]).float().mean().item()
    line = {"step": run.step}
    for key in ("loss", "triplet", "ce", "lift"):
        if key in result:
            line[key] = round(result[key].item(), 5)
    line.update(
        active_triplets=round(result["active_triplets"].item(), 4),
        accuracy=round(accuracy, 4),
        lr=run.optimizer.param_groups[0]["lr"],
        train_seconds=round(run.train_seconds, 1),
        cpu_seconds=round(run.cpu_seconds, 1),
    )
    return line
