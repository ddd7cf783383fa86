"""Skeleton GaitNN networks (PyTorch), found by name in their own small registry.

Input: a batch of walks `x` of shape (N, T, *spec.frame_shape): per frame either the 45 numbers of the
normalised gait keypoints (features "keypoints") or 2 x H x W skeleton heatmaps (features "heatmaps"),
see `gaitid.gait.skeleton`. Output, as the silhouette models in `gaitid.training.nets`: a dict with
"embedding" (N, D), "parts" (N, 1, D) and "logits" (N, 1, classes); `forward_features`, `forward_head`,
`reset_classifier` as there.

Both follow the seed GaitNN: a per-frame network gives a pose descriptor (an MLP on keypoints, or the
residual CNN `FrameResNet` on heatmaps), a multi-layer bidirectional GRU runs over the descriptors,
average temporal pooling and a linear map give the identification vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from gaitid.gait.skeleton import GAIT_LIMBS, NUM_GAIT_KEYPOINTS, SkeletonSpec
from gaitid.training.nets import FrameResNet, PartBNNeck, SinglePartHead, replace_settings


@dataclass(frozen=True)
class SkeletonModelConfig:
    """name: registered name. spec: input (defines preprocessing). frame_dim: per-frame descriptor size
    (MLP width for keypoints). widths, stem_stride: FrameResNet stages and stem stride (heatmaps).
    rnn_hidden, rnn_layers: the GRU.
    bone_lengths: lifting models only: the identity stage also gets the limb lengths of the 3-D estimate.
    identity_from: lifting models only: "both" (the lifter's features and its 3-D estimate) or "lifted"
    (the 3-D estimate alone, with its gradient stopped, so that identity sees only what the lifter
    recovers in walker coordinates, whatever the camera).
    embed_dim: identification vector size. num_classes: identities of the training classifier."""

    name: str
    spec: SkeletonSpec = field(default_factory=SkeletonSpec)
    frame_dim: int = 128
    widths: tuple[int, ...] = (16, 32, 64)
    stem_stride: int = 2
    rnn_hidden: int = 128
    rnn_layers: int = 2
    embed_dim: int = 128
    num_classes: int = 100
    bone_lengths: bool = False
    identity_from: str = "both"

    def replace(self, **overrides: object) -> SkeletonModelConfig:
        return replace_settings(self, overrides, {"spec": SkeletonSpec})


class SkeletonGaitNN(SinglePartHead):
    """Per-frame descriptor -> bidirectional multi-layer GRU -> temporal mean -> linear embedding."""

    def __init__(self, cfg: SkeletonModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        spec = cfg.spec
        if spec.features == "keypoints":
            (d_in,) = spec.frame_shape
            self.frame_net: nn.Module = nn.Sequential(
                nn.Linear(d_in, cfg.frame_dim),
                nn.ReLU(inplace=True),
                nn.Linear(cfg.frame_dim, cfg.frame_dim),
                nn.ReLU(inplace=True),
            )
            desc = cfg.frame_dim
        else:
            self.frame_net = FrameResNet(spec.frame_shape[0], cfg.widths, stem_stride=cfg.stem_stride)
            desc = cfg.widths[-1]
        self.rnn = nn.GRU(
            desc, cfg.rnn_hidden, num_layers=cfg.rnn_layers, batch_first=True, bidirectional=True
        )
        self.fc = nn.Linear(2 * cfg.rnn_hidden, cfg.embed_dim)
        self.head = PartBNNeck(1, cfg.embed_dim, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        frames = x.reshape(n * t, *x.shape[2:])
        desc = self.frame_net(frames)
        if desc.dim() == 4:
            desc = desc.mean(dim=(2, 3))
        out, _ = self.rnn(desc.reshape(n, t, -1))
        return out.mean(dim=1)



class TemporalBlock(nn.Module):
    """Residual 1-D convolution over time (kernel 5, dilation d) with batch norm: (N, C, T) -> (N, C, T)."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 5, padding=2 * dilation, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn(self.conv(x)))


class SkeletonTCN(SkeletonGaitNN):
    """Keypoints only: the per-frame MLP, then residual temporal convolutions (dilations 1, 2, 4) instead
    of the GRU, mean + max pooling over time, a linear embedding. Cheaper on a CPU than the GRU."""

    def __init__(self, cfg: SkeletonModelConfig) -> None:
        nn.Module.__init__(self)
        if cfg.spec.features != "keypoints":
            raise ValueError(f"{cfg.name} takes keypoints, not {cfg.spec.features}")
        self.cfg = cfg
        (d_in,) = cfg.spec.frame_shape
        self.frame_net = nn.Sequential(
            nn.Linear(d_in, cfg.frame_dim),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.frame_dim, cfg.frame_dim),
            nn.ReLU(inplace=True),
        )
        self.temporal = nn.Sequential(
            *[TemporalBlock(cfg.frame_dim, d) for d in (1, 2, 4)][: max(cfg.rnn_layers, 1) + 1]
        )
        self.fc = nn.Linear(2 * cfg.frame_dim, cfg.embed_dim)
        self.head = PartBNNeck(1, cfg.embed_dim, cfg.num_classes)

    def frame_descriptors(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, 45) keypoints -> per-frame descriptors (N, C, T), laid out for the temporal convolutions."""
        n, t = x.shape[:2]
        return self.frame_net(x.reshape(n * t, -1)).reshape(n, t, -1).transpose(1, 2)

    def pooled_identity(self, desc: torch.Tensor) -> torch.Tensor:
        """(N, C, T) -> the temporal blocks, then mean and max over time: (N, 2C)."""
        y = self.temporal(desc)
        return torch.cat([y.mean(dim=2), y.amax(dim=2)], dim=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pooled_identity(self.frame_descriptors(x))


class SkeletonLiftTCN(SkeletonTCN):
    """Keypoints only, two temporal-convolution stages in one network. The lifter estimates every frame's
    3-D skeleton in walker coordinates (forward, left, up; origin at the hip midpoint, torso units), which
    training supervises with the Kinect truth behind the projected keypoints (the "lifted" output); the
    identity stage runs over the lifter's features and its 3-D estimate. The 3-D target does not depend on
    the camera, so it pushes the shared features towards what every view has in common: the point is
    cross-view identification, which identity labels of 100 people alone teach poorly. With
    `identity_from="lifted"` the identity stage reads the 3-D estimate alone (and its limb lengths), its
    gradient stopped there: the lifter then learns the 3-D much better (smooth-L1 0.006 against 0.022 at
    step 4000) and identity rests on what every camera shares (benchmarks/results/kinect.md)."""

    def __init__(self, cfg: SkeletonModelConfig) -> None:
        super().__init__(cfg)
        blocks = max(cfg.rnn_layers, 1) + 1
        width = cfg.frame_dim
        self.lifter = nn.Sequential(*[TemporalBlock(width, d) for d in (1, 2, 4)][:blocks])
        self.lift_head = nn.Conv1d(width, NUM_GAIT_KEYPOINTS * 3, 1)
        if cfg.identity_from not in ("both", "lifted"):
            raise ValueError(f"identity_from must be 'both' or 'lifted', got {cfg.identity_from!r}")
        bones = len(GAIT_LIMBS) if cfg.bone_lengths else 0
        features = width if cfg.identity_from == "both" else 0
        self.mix = nn.Sequential(
            nn.Conv1d(features + NUM_GAIT_KEYPOINTS * 3 + bones, width, 1, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
        )

    def lift(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, T, 45) keypoints -> lifter features (N, C, T) and 3-D estimate (N, 45, T)."""
        h = self.lifter(self.frame_descriptors(x))
        return h, self.lift_head(h)

    def _identity_features(self, h: torch.Tensor, lifted: torch.Tensor) -> torch.Tensor:
        if self.cfg.identity_from == "lifted":
            lifted = lifted.detach()
        inputs = [h, lifted] if self.cfg.identity_from == "both" else [lifted]
        if self.cfg.bone_lengths:
            n, _, t = lifted.shape
            points = lifted.reshape(n, NUM_GAIT_KEYPOINTS, 3, t)
            limbs = points[:, [a for a, _ in GAIT_LIMBS]] - points[:, [b for _, b in GAIT_LIMBS]]
            inputs.append(torch.sqrt(limbs.pow(2).sum(dim=2) + 1e-6))
        return self.pooled_identity(self.mix(torch.cat(inputs, dim=1)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._identity_features(*self.lift(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h, lifted = self.lift(x)
        parts = self.forward_head(self._identity_features(h, lifted), pre_logits=True)
        n, t = x.shape[:2]
        return {
            "embedding": parts.flatten(1),
            "parts": parts,
            "logits": self.head(parts),
            "lifted": lifted.transpose(1, 2).reshape(n, t, NUM_GAIT_KEYPOINTS, 3),
        }


def inference_embedding(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The identification vector used at inference: the BN-neck's batch-normalised embedding (running
    statistics of training). It ranks walks as the raw embedding does (rank-1 92.0 / 77.4 against
    92.7 / 77.4 same / cross view on people 101-132, step 5000) but is centred: between walks, distances
    of the unit vectors have a median of 1.07, against 0.05 for the raw embedding, whose large common
    offset would make the skeleton count for almost nothing in fusion."""
    embedding = model.forward_head(model.forward_features(x), pre_logits=True).flatten(1)
    return model.head.bn(embedding)
