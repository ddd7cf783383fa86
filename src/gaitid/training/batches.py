"""Training batches of either dataset, one face for the trainer: `labels` (an identity per item, for the
P x K sampler) and `make(indices, rng) -> Batch`.

CASIA-B: clips of `frames` normalised silhouettes of each sequence (random or contiguous frames).
Kinect: from each walk a clip of `frames` frames at the model's frame rate (the 30 fps stream subsampled
with a random tempo factor), seen by random virtual cameras with pose-estimator noise
(`gaitid.datasets.kinect.random_view_with_truth`), turned into network input by exactly the function
inference uses (`gaitid.gait.skeleton.skeleton_features`), with the 3-D truth for models that lift.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from gaitid.datasets.casia_b import GaitSequences, load_casia_b
from gaitid.datasets.kinect import (
    KINECT_FPS,
    AugmentConfig,
    KinectWalk,
    load_kinect,
    random_view_with_truth,
    walker_frame,
)
from gaitid.errors import GaitidError
from gaitid.gait.skeleton import GAIT_KEYPOINT_NAMES, SkeletonSpec, skeleton_features
from gaitid.training.config import DataConfig
from gaitid.training.sampler import PKSampler, sample_frames
from gaitid.training.silhouette_augment import SilhouetteAugment, degrade_clip


@dataclass
class Batch:
    """Network input, the identity of each item and, for lifting models, the 3-D truth of each item."""

    x: torch.Tensor
    labels: torch.Tensor
    lift_target: torch.Tensor | None = None


class Batches(Protocol):
    labels: np.ndarray  # the identity (0..classes-1) of each item

    def make(self, indices: np.ndarray, rng: np.random.Generator) -> Batch: ...


class SilhouetteBatches:
    """Clips of CASIA-B sequences: (N, frames, 1, 64, 44) float32, degraded like the pipeline's
    silhouettes as `cfg.augment` says (`gaitid.training.silhouette_augment`; off by default)."""

    def __init__(self, data: GaitSequences, cfg: DataConfig) -> None:
        self.data, self.cfg = data, cfg
        self.labels = data.labels
        self.augment = SilhouetteAugment.from_overrides(cfg.augment)

    def make(self, indices: np.ndarray, rng: np.random.Generator) -> Batch:
        clips = [degrade_clip(self.data.frames(int(i), self._frames(int(i), rng)), self.augment, rng)
                 for i in indices]
        x = torch.from_numpy(np.stack(clips).astype(np.float32)).unsqueeze(2)
        return Batch(x, torch.from_numpy(self.labels[indices]))

    def _frames(self, index: int, rng: np.random.Generator) -> np.ndarray:
        steps = self.cfg.frame_steps
        # One step draws nothing, so runs without frame_steps draw the batches they always drew.
        step = steps[0] if len(steps) == 1 else int(rng.choice(steps))
        return sample_frames(self.data.num_frames(index), self.cfg.frames, self.cfg.frame_sampling, rng, step)


class SkeletonBatches:
    """Clips of Kinect walks seen by random cameras: (N * views, frames, *spec.frame_shape) float32."""

    def __init__(self, walks: list[KinectWalk], cfg: DataConfig, spec: SkeletonSpec) -> None:
        self.walkers = [walker_frame(w.joints) for w in walks]
        persons = sorted({w.person for w in walks})
        index = {p: i for i, p in enumerate(persons)}
        self.labels = np.array([index[w.person] for w in walks])
        self.cfg, self.spec = cfg, spec
        self.augment = augment_config(cfg.augment)

    def make(self, indices: np.ndarray, rng: np.random.Generator) -> Batch:
        views = self.cfg.views_per_clip
        clips = [
            clip
            for i in indices
            for clip in make_view_clips(self.walkers[i], self.spec, self.cfg.frames, rng, self.augment,
                                        self.cfg.tempo, views)
        ]
        return Batch(
            torch.from_numpy(np.stack([c[0] for c in clips])),
            torch.from_numpy(np.repeat(self.labels[indices], views)),
            torch.from_numpy(np.stack([c[1] for c in clips])),
        )


class BatchStream:
    """A run's batches in the order its generator draws them: each made when asked for, or (`ahead` > 0) up
    to `ahead` made in advance by a background thread, so that a GPU does not wait for the CPU. Both give
    the same batches in the same order; nothing else may draw from `rng` while the stream is open.
    `rng_state()` is the generator's state just after the last batch handed out: what a checkpoint keeps,
    so that a resumed run draws the batch it would have drawn next."""

    def __init__(
        self, batches: Batches, sampler: PKSampler, rng: np.random.Generator, ahead: int = 0, pin: bool = False
    ) -> None:
        self._batches, self._sampler, self._rng, self._pin = batches, sampler, rng, pin
        self._state = rng.bit_generator.state
        self._queue: queue.Queue[tuple[Batch, dict[str, Any]] | BaseException] | None = None
        self._stop = threading.Event()
        if ahead > 0:
            self._queue = queue.Queue(maxsize=ahead)
            self._thread = threading.Thread(target=self._produce, name="batches", daemon=True)
            self._thread.start()

    def _make(self) -> Batch:
        batch = self._batches.make(self._sampler.sample(self._rng), self._rng)
        if self._pin:  # page-locked memory: the copy to the GPU can overlap the step before it
            batch.x, batch.labels = batch.x.pin_memory(), batch.labels.pin_memory()
        return batch

    def _produce(self) -> None:
        assert self._queue is not None
        while not self._stop.is_set():
            item: tuple[Batch, dict[str, Any]] | BaseException
            try:
                item = (self._make(), self._rng.bit_generator.state)
            except BaseException as error:  # handed to the training loop, which raises it
                item = error
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return

    def next(self) -> Batch:
        if self._queue is None:
            batch = self._make()
            self._state = self._rng.bit_generator.state
            return batch
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        batch, self._state = item
        return batch

    def rng_state(self) -> dict[str, Any]:
        return self._state

    def close(self) -> None:
        if self._queue is not None:
            self._stop.set()
            self._thread.join()


def load_batches(
    cfg: DataConfig, spec: SkeletonSpec | None, data: GaitSequences | list[KinectWalk] | None = None
) -> Batches:
    """The batches of the config's dataset (skeleton models: input as `spec` says); `data` (already in
    memory, for tests) replaces reading it."""
    if cfg.dataset == "kinect":
        if spec is None:
            raise GaitidError("the kinect dataset trains skeleton models (a model with a SkeletonSpec)")
        walks = data if data is not None else load_kinect(cfg.subject_list, "train", cfg.root)
        return SkeletonBatches(walks, cfg, spec)  # type: ignore[arg-type]
    sequences = data if data is not None else load_casia_b(cfg.subject_list, "train", cfg.root)
    return SilhouetteBatches(sequences, cfg)  # type: ignore[arg-type]


def augment_config(overrides: dict[str, Any]) -> AugmentConfig:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return dataclasses.replace(AugmentConfig(), **values)


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
