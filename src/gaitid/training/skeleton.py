"""Train skeleton GaitNN models on Kinect walks seen by random virtual cameras, and export them to ONNX.

Experiments are data: a YAML or TOML file whose keys are the fields of `SkeletonTrainConfig` (unknown
keys are errors), `gaitid train-skeleton CONFIG`. Only the training people (Person001-100) can be used.
Each step draws P people x K walks; from each walk a clip of `clip_frames` frames at the model's frame
rate (the 30 fps Kinect stream subsampled with a random tempo factor in `tempo`), seen by a random
virtual camera with pose-estimator noise (`gaitid.datasets.kinect.random_view`), then turned into network
input by exactly the function inference uses (`gaitid.gait.skeleton.skeleton_features`).
Loss: batch-all triplet loss plus the BN-neck classifier's cross-entropy, as for the silhouette models.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gaitid.errors import GaitidError
from gaitid.gait.skeleton import GAIT_KEYPOINT_NAMES, SkeletonSpec, skeleton_features
from gaitid.training.registry import create_from_config, model_config
from gaitid.training.skeleton_nets import SkeletonModelConfig
from gaitid.datasets.kinect import (
    KINECT_FPS,
    KINECT_TRAIN_PEOPLE,
    AugmentConfig,
    load_kinect,
    random_view_with_truth,
    walker_frame,
)
from gaitid.training.losses import part_cross_entropy, triplet_loss
from gaitid.training.sampler import PKSampler


@dataclass(frozen=True)
class SkeletonTrainConfig:
    model: str = "skelnn_keypoints"
    model_settings: dict[str, Any] = field(default_factory=dict)
    people: tuple[int, int] = (1, 100)  # first, last; test people are refused
    root: str | None = None
    seed: int = 0
    steps: int = 3000
    p: int = 16
    k: int = 4
    clip_frames: int = 40
    tempo: tuple[float, float] = (0.8, 1.25)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    triplet_margin: float = 0.2
    ce_weight: float = 1.0
    label_smoothing: float = 0.1
    augment: dict[str, Any] = field(default_factory=dict)  # overrides of AugmentConfig
    views_per_clip: int = 1  # each sampled stretch of a walk seen by this many random cameras in the batch
    lift_weight: float = 1.0  # models with a lifting stage: weight of its 3-D loss (smooth L1, torso units)
    out_dir: str = "runs/skeleton"
    checkpoint_every: int = 250
    log_every: int = 25
    threads: int = 1
    device: str = "auto"  # "auto" (a CUDA GPU when there is one), "cpu" or "cuda"
    # A wall-clock budget in seconds (0: none). Training ends at `steps` or when the budget is spent,
    # whichever comes first, and the learning-rate schedule runs on whichever is further along, so a
    # budgeted run still ends annealed. The budget counts from the start of this invocation.
    max_seconds: float = 0.0


def load_train_config(path: Path | str, overrides: dict[str, Any] | None = None) -> SkeletonTrainConfig:
    """Read a YAML (.yaml/.yml) or TOML config, with `overrides` of its keys; unknown keys raise
    GaitidError."""
    from gaitid.training.config import read_config_file

    raw = read_config_file(path)
    try:
        return config_from_dict({**raw, **(overrides or {})})
    except (TypeError, ValueError) as error:  # a key or a value of the wrong kind
        raise GaitidError(" ".join(f"{path}: {error}".split())) from None


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """["KEY=VALUE", ...] -> {KEY: VALUE}, each VALUE read as YAML ("people=[1, 80]", "seed=3")."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GaitidError(f"an override is KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise GaitidError(" ".join(f"cannot read the value of {item!r}: {error}".split())) from None
    return out


def config_from_dict(raw: dict[str, Any]) -> SkeletonTrainConfig:
    known = {f.name for f in dataclasses.fields(SkeletonTrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise GaitidError(f"unknown key(s) {unknown} in skeleton training config; known: {sorted(known)}")
    values = dict(raw)
    for key in ("people", "tempo"):
        if key in values:
            values[key] = tuple(values[key])
    cfg = SkeletonTrainConfig(**values)
    if cfg.views_per_clip < 1:
        raise GaitidError(f"views_per_clip must be at least 1, got {cfg.views_per_clip}")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise GaitidError(f"device must be 'auto', 'cpu' or 'cuda', got {cfg.device!r}")
    if cfg.max_seconds < 0:
        raise GaitidError(f"max_seconds must be 0 (no budget) or positive, got {cfg.max_seconds}")
    aug_known = {f.name for f in dataclasses.fields(AugmentConfig)}
    bad = sorted(set(cfg.augment) - aug_known)
    if bad:
        raise GaitidError(f"unknown augment setting(s) {bad}; known: {sorted(aug_known)}")
    try:
        model_config(cfg.model, **cfg.model_settings)
    except ValueError as error:
        raise GaitidError(str(error)) from None
    return cfg


def augment_config(cfg: SkeletonTrainConfig) -> AugmentConfig:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.augment.items()}
    return AugmentConfig(**values)


def make_view_clips(
    walker: np.ndarray,
    spec: SkeletonSpec,
    frames: int,
    rng: np.random.Generator,
    augment: AugmentConfig,
    tempo: tuple[float, float] = (0.8, 1.25),
    views: int = 1,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A random stretch of one walk (walker coordinates, 30 fps) seen by `views` independent random cameras
    (each with its own estimator noise): per view, the network input (frames, *spec.frame_shape) and the
    3-D truth (`lift_target`)."""
    stride = KINECT_FPS / spec.fps * float(rng.uniform(*tempo))
    span = (frames - 1) * stride
    start = float(rng.uniform(0, max(len(walker) - 1 - span, 0)))
    idx = np.round(start + np.arange(frames) * stride).astype(np.int64) % len(walker)
    clips = []
    for _ in range(views):
        keypoints, truth = random_view_with_truth(walker[idx], rng, augment, fps=KINECT_FPS / stride)
        clips.append((skeleton_features(keypoints, spec), lift_target(truth)))
    return clips


_HIPS = [GAIT_KEYPOINT_NAMES.index("left_hip"), GAIT_KEYPOINT_NAMES.index("right_hip")]
_SHOULDERS = [GAIT_KEYPOINT_NAMES.index("left_shoulder"), GAIT_KEYPOINT_NAMES.index("right_shoulder")]


def lift_target(truth: np.ndarray) -> np.ndarray:
    """(T, 15, 3) gait keypoints in walker coordinates (metres) -> the same with the origin at each frame's
    hip midpoint and one unit = the clip's median torso length (mid-shoulder to mid-hip), the units of
    the 2-D features; float32."""
    hip = truth[:, _HIPS].mean(axis=1, keepdims=True)
    torso = np.linalg.norm(truth[:, _SHOULDERS].mean(axis=1) - hip[:, 0], axis=1)
    return ((truth - hip) / max(float(np.median(torso)), 1e-6)).astype(np.float32)


def _lr_factor(cfg: SkeletonTrainConfig, step: int, elapsed: float = 0.0) -> float:
    """Linear warm-up over `cfg.warmup` steps, then a cosine decay to zero at `cfg.steps`, or at
    `cfg.max_seconds` of training when that comes first."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    if cfg.max_seconds > 0:
        progress = max(progress, elapsed / cfg.max_seconds)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def training_device(name: str) -> torch.device:
    """The torch device for `name`: "auto" is CUDA when a GPU is there, else the CPU; "cuda" without a GPU
    is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise GaitidError("device 'cuda' asked for, but torch sees no CUDA GPU (use 'auto' or 'cpu')")
    return torch.device(name)


def load_skeleton_checkpoint(path: Path | str) -> tuple[torch.nn.Module, SkeletonModelConfig, dict[str, Any]]:
    """The model (eval mode), its config and the checkpoint's metadata."""
    from gaitid.training.trainer import not_a_checkpoint, read_checkpoint

    path = Path(path)
    state = read_checkpoint(path)
    try:
        raw = json.loads(state["model_config"])
        if "window" not in raw["spec"] and state.get("train_config"):
            # checkpoints from before SkeletonSpec.window: embed in windows of the training clip length
            raw["spec"]["window"] = int(json.loads(state["train_config"]).get("clip_frames", 0))
        raw["spec"] = SkeletonSpec(**raw["spec"])
        raw["widths"] = tuple(raw["widths"])
        cfg = SkeletonModelConfig(**raw)
        model = create_from_config(cfg)
        model.load_state_dict(state["model"])
    except Exception as error:  # a damaged or foreign checkpoint fails in many ways
        raise not_a_checkpoint(path, error) from None
    model.eval()
    return model, cfg, {"step": int(state["step"]), "train_config": state.get("train_config", "")}


def is_skeleton_checkpoint(path: Path | str) -> bool:
    """Whether `path` is a checkpoint written by `train_skeleton` (False when missing or another kind)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file, or another kind of checkpoint
        return False
    return isinstance(state, dict) and "model_config" in state and '"spec"' in str(state["model_config"])


def train_skeleton(
    cfg: SkeletonTrainConfig, resume: bool = True, stop_after: int | None = None
) -> dict[str, Any]:
    """Train (or resume) in cfg.out_dir; returns a summary. Writes checkpoint.pt and log.txt there."""
    torch.set_num_threads(cfg.threads)
    people = tuple(range(cfg.people[0], cfg.people[1] + 1))
    if set(people) - set(KINECT_TRAIN_PEOPLE):
        raise GaitidError(
            f"training people must be within 001-100 (the protocol's training set), got {cfg.people}"
        )
    walks = load_kinect(people, "train", cfg.root)
    walkers = [walker_frame(w.joints) for w in walks]
    persons = sorted({w.person for w in walks})
    index = {p: i for i, p in enumerate(persons)}
    labels = np.array([index[w.person] for w in walks])
    model_cfg = model_config(cfg.model, **cfg.model_settings).replace(num_classes=len(persons))
    if model_cfg.spec.window == 0:  # inference embeds windows as long as the training clips
        model_cfg = model_cfg.replace(spec=dataclasses.replace(model_cfg.spec, window=cfg.clip_frames))
    device = training_device(cfg.device)
    model = create_from_config(model_cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.pt"
    step = 0
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        rng = np.random.default_rng([cfg.seed, step])
    sampler = PKSampler(labels, cfg.p, cfg.k)
    augment = augment_config(cfg)
    spec = model_cfg.spec
    log = open(out / "log.txt", "a")

    def save() -> None:
        state = {
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "step": step,
            "model_config": json.dumps(dataclasses.asdict(model_cfg)),
            "train_config": json.dumps(dataclasses.asdict(cfg)),
        }
        tmp = ckpt.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt)

    t0 = time.perf_counter()
    last = step + (stop_after if stop_after is not None else cfg.steps)
    model.train()
    loss_value = float("nan")

    def budget_left() -> bool:
        return cfg.max_seconds <= 0 or time.perf_counter() - t0 < cfg.max_seconds

    while step < min(cfg.steps, last) and budget_left():
        batch = sampler.sample(rng)
        clips = [
            clip
            for i in batch
            for clip in make_view_clips(
                walkers[i], spec, cfg.clip_frames, rng, augment, cfg.tempo, cfg.views_per_clip
            )
        ]
        x = torch.from_numpy(np.stack([c[0] for c in clips])).to(device)
        y = torch.from_numpy(np.repeat(labels[batch], cfg.views_per_clip)).to(device)
        for group in opt.param_groups:
            group["lr"] = cfg.lr * _lr_factor(cfg, step, time.perf_counter() - t0)
        outputs = model(x)
        tri, active = triplet_loss(outputs["parts"], y, cfg.triplet_margin)
        ce = part_cross_entropy(outputs["logits"], y, cfg.label_smoothing)
        loss = tri + cfg.ce_weight * ce
        lift = torch.zeros((), device=device)
        if "lifted" in outputs:
            lift = torch.nn.functional.smooth_l1_loss(
                outputs["lifted"], torch.from_numpy(np.stack([c[1] for c in clips])).to(device)
            )
            loss = loss + cfg.lift_weight * lift
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        loss_value = float(loss.detach())
        if step % cfg.log_every == 0:
            acc = float((outputs["logits"][:, 0].argmax(1) == y).float().mean())
            log.write(
                f"step {step} loss {loss_value:.4f} triplet {float(tri.detach()):.4f} active {active:.3f} "
                f"ce {float(ce.detach()):.4f} lift {float(lift.detach()):.4f} "
                f"acc {acc:.3f} lr {opt.param_groups[0]['lr']:.2e} elapsed {time.perf_counter() - t0:.0f}s\n"
            )
            log.flush()
        if step % cfg.checkpoint_every == 0:
            save()
    save()
    log.close()
    return {
        "step": step,
        "loss": loss_value,
        "seconds": round(time.perf_counter() - t0, 1),
        "device": str(device),
        "checkpoint": str(ckpt),
    }


# ----------------------------------------------------------------------------------------------- export


def inference_embedding(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The identification vector used at inference: the BN-neck's batch-normalised embedding (running
    statistics of training). It ranks walks as the raw embedding does (rank-1 92.0 / 77.4 against
    92.7 / 77.4 same / cross view on people 101-132, step 5000) but is centred: between walks, distances
    of the unit vectors have a median of 1.07, against 0.05 for the raw embedding, whose large common
    offset would make the skeleton count for almost nothing in fusion."""
    embedding = model.forward_head(model.forward_features(x), pre_logits=True).flatten(1)
    return model.head.bn(embedding)


