"""GaitNN networks (PyTorch): the training-side definition of every gait model, found by name in a registry.

This module imports torch, so only training, evaluation with a checkpoint and export use it. Inference goes
through `gaitid.gait.encoder.GaitEncoder`, which runs the exported ONNX file with onnxruntime.

Every model takes a batch of sequences `x` of shape (N, T, C, H, W), float32, where the channels C are the
per-frame gait inputs listed in its config (`("silhouette",)` today; skeleton heatmaps plug in as more
channels), and returns a dict with
  - "embedding": (N, D) the identification vector (what inference uses),
  - "parts": (N, P, d) the same vector split in its P parts (D = P * d; P = 1 for the seed GaitNN),
  - "logits": (N, P, num_classes) the training classifier's scores on the BN-neck features.
`forward_features` gives the per-sequence features before the head, `forward_head(f, pre_logits=True)` the
embedding, and `reset_classifier(n)` a fresh classifier for n identities.

File order, as in timm: shared layers, the models, their private constructors, the registered functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from gaitid.gait.spec import InputSpec

# ----------------------------------------------------------------------------------------------- layers


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet basic block), optional stride."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class FrameResNet(nn.Module):
    """Per-frame residual CNN: a stem then one basic block per stage; stage i > 0 halves the resolution.

    `stem_stride` 2 halves the 64 x 44 input at once (4x fewer operations in the stages), the main knob
    for the CPU budget.
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], stem_stride: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages = []
        c_in = widths[0]
        for i, w in enumerate(widths):
            stages.append(BasicBlock(c_in, w, stride=1 if i == 0 else 2))
            c_in = w
        self.stages = nn.Sequential(*stages)
        self.out_channels = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


class SeparateFC(nn.Module):
    """One linear map per horizontal part: (N, P, c) -> (N, P, d)."""

    def __init__(self, parts: int, c_in: int, c_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(parts, c_in, c_out))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("npc,pcd->npd", x, self.weight)


class PartBNNeck(nn.Module):
    """BN-neck and classifier per part (OpenGait's 'separate BN-neck'): (N, P, d) -> features, logits."""

    def __init__(self, parts: int, dim: int, num_classes: int) -> None:
        super().__init__()
        self.parts, self.dim = parts, dim
        self.bn = nn.BatchNorm1d(parts * dim)
        self.classifier = SeparateFC(parts, dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        y = self.bn(x.reshape(n, -1)).reshape(n, self.parts, self.dim)
        return self.classifier(F.normalize(y, dim=-1) * 16.0)


class MicroMotion(nn.Module):
    """What a strip does over a few neighbouring frames (GaitPart's micro-motion idea): (N, T, c, P) per-frame
    strip features -> (N, c, P). Each strip's features are smoothed over `kernel` frames (mean + max),
    weighted by a learnt per-channel attention over time, and max-pooled over the clip. A per-channel gate
    that starts at zero makes the model start as the model without it."""

    def __init__(self, channels: int, kernel: int, squeeze: int = 4) -> None:
        super().__init__()
        self.kernel = kernel
        hidden = max(channels // squeeze, 1)
        self.attend = nn.Sequential(
            nn.Conv1d(channels, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv1d(hidden, channels, 1)
        )
        self.gate = nn.Parameter(torch.zeros(channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c, p = x.shape
        seq = x.permute(0, 3, 2, 1).reshape(n * p, c, t)
        pad = self.kernel // 2
        smooth = F.avg_pool1d(seq, self.kernel, 1, pad, count_include_pad=False) + F.max_pool1d(
            seq, self.kernel, 1, pad
        )
        motion = (smooth * torch.sigmoid(self.attend(smooth))).amax(-1)
        return motion.reshape(n, p, c).permute(0, 2, 1) * self.gate


def strip_features(fmap: torch.Tensor, strips: tuple[int, ...]) -> torch.Tensor:
    """(N, c, h, w) -> (N, c, sum(strips)): max + mean over each horizontal strip of every level."""
    n, c, h, w = fmap.shape
    levels = []
    for p in strips:
        cells = fmap.reshape(n, c, p, (h // p) * w)
        levels.append(cells.amax(-1) + cells.mean(-1))
    return torch.cat(levels, dim=2)


def _fold_frames(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    n, t = x.shape[:2]
    return x.reshape(n * t, *x.shape[2:]), n, t


# ----------------------------------------------------------------------------------------------- configs


def replace_settings(cfg: Any, overrides: dict[str, object], nested: dict[str, type]) -> Any:
    """A model config (a frozen dataclass) with `overrides` applied: an unknown setting raises ValueError;
    `widths` given as a list becomes a tuple, and a setting named in `nested` given as a dict (as read
    from a file) becomes that spec."""
    known = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown model setting(s) {unknown} for {cfg.name}; known: {sorted(known)}")
    values = dict(overrides)
    for key in ("widths", "set_widths", "pyramid"):
        if key in values:
            sizes = values[key]
            if not isinstance(sizes, (list, tuple)) or not all(isinstance(v, int) and v > 0 for v in sizes):
                raise ValueError(f"{key} must be a list of positive whole numbers, got {sizes!r}")
            values[key] = tuple(sizes)
    for key, spec in nested.items():
        if isinstance(values.get(key), dict):
            values[key] = spec(**values[key])
    return dataclasses.replace(cfg, **values)


@dataclass(frozen=True)
class GaitModelConfig:
    """Everything that defines a gait model: its input (which also defines preprocessing) and its sizes.

    name: the registered name it was built from.
    widths: channels of the per-frame CNN stages. stem_stride: 1 or 2.
    embed_dim: size of each part's vector. num_classes: identities of the training classifier.
    rnn: "lstm" or "gru" (GaitNN only); rnn_layers, rnn_hidden: its depth and width.
    parts: horizontal strips (set models only).
    pyramid: coarser strip counts added to `parts`' strips, each dividing the feature map's height (set
        models only): (1, 2, 4) adds the whole body, halves and quarters (GaitSet's horizontal pyramid);
        every strip gets its own linear map, so the vector has parts + sum(pyramid) strips.
    set_widths: residual blocks run on the set-pooled feature map, one per width (set models only): they
        run once per clip, not once per frame, so they add capacity at almost no cost per walker-frame.
    temporal: 0, or the number of neighbouring frames a micro-motion path (`MicroMotion`) looks at, added to
        the strips (set models without set_widths only). It reads the frames in order, so it trains on
        contiguous clips.
    """

    name: str
    input: InputSpec = field(default_factory=InputSpec)
    widths: tuple[int, ...] = (32, 64, 128)
    stem_stride: int = 1
    embed_dim: int = 128
    num_classes: int = 74
    rnn: str = "lstm"
    rnn_layers: int = 2
    rnn_hidden: int = 128
    parts: int = 16
    set_widths: tuple[int, ...] = ()
    pyramid: tuple[int, ...] = ()
    temporal: int = 0

    @property
    def strips(self) -> tuple[int, ...]:
        """Strip counts of each level, finest first."""
        return (self.parts, *self.pyramid)

    def replace(self, **overrides: object) -> GaitModelConfig:
        return replace_settings(self, overrides, {"input": InputSpec})


# ----------------------------------------------------------------------------------------------- models


class SinglePartHead(nn.Module):
    """The head of the models whose features are one vector per clip: a linear map to the embedding
    (one "part"), then the BN-neck classifier. Subclasses set `cfg` (with embed_dim), `fc` and `head`, and
    define `forward_features`."""

    cfg: Any
    fc: nn.Module
    head: PartBNNeck

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        parts = self.fc(features).unsqueeze(1)
        return parts if pre_logits else self.head(parts)

    def reset_classifier(self, num_classes: int) -> None:
        self.head = PartBNNeck(1, self.cfg.embed_dim, num_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = self.forward_head(self.forward_features(x), pre_logits=True)
        return {"embedding": parts.flatten(1), "parts": parts, "logits": self.head(parts)}


class GaitNN(SinglePartHead):
    """The seed GaitNN: residual CNN per frame -> descriptor -> multi-layer LSTM/GRU -> temporal mean.

    The per-frame descriptor is the CNN's global average pool; the recurrent network runs over the frame
    descriptors in order; averaging its outputs over time gives one vector per sequence, then a linear map
    gives the identification vector.
    """

    def __init__(self, cfg: GaitModelConfig) -> None:
        super().__init__()
        if cfg.rnn not in ("lstm", "gru"):
            raise ValueError(f"rnn must be 'lstm' or 'gru', got {cfg.rnn!r}")
        if cfg.set_widths or cfg.pyramid or cfg.temporal:
            raise ValueError(
                f"{cfg.name}: set_widths, pyramid and temporal are settings of the set models; "
                "GaitNN has no strips"
            )
        self.cfg = cfg
        self.backbone = FrameResNet(cfg.input.channels, cfg.widths, cfg.stem_stride)
        rnn_cls = nn.LSTM if cfg.rnn == "lstm" else nn.GRU
        self.rnn = rnn_cls(self.backbone.out_channels, cfg.rnn_hidden, num_layers=cfg.rnn_layers, batch_first=True)
        self.fc = nn.Linear(cfg.rnn_hidden, cfg.embed_dim)
        self.head = PartBNNeck(1, cfg.embed_dim, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        frames, n, t = _fold_frames(x)
        desc = self.backbone(frames).mean(dim=(2, 3)).reshape(n, t, -1)
        out, _ = self.rnn(desc)
        return out.mean(dim=1)



class GaitSetStrips(nn.Module):
    """A compact set model: residual CNN per frame, temporal max pooling over the set of frames, then
    optional residual blocks on the pooled map (`set_widths`), then horizontal strips (max + mean per
    strip; `parts` of them, and the coarser levels of `pyramid`) with one linear map each (GaitSet /
    GaitBase family).

    Order of frames does not matter and any number of frames works, which makes it cheap to train on short
    random subsets of frames.
    """

    def __init__(self, cfg: GaitModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = FrameResNet(cfg.input.channels, cfg.widths, cfg.stem_stride)
        fmap_h = -(-cfg.input.height // cfg.stem_stride)
        for _ in cfg.widths[1:]:
            fmap_h = -(-fmap_h // 2)
        for level in cfg.strips:
            if level < 1 or fmap_h % level:
                raise ValueError(
                    f"{cfg.name}: feature map height {fmap_h} is not divisible into {level} parts"
                )
        blocks, c_in = [], self.backbone.out_channels
        for width in cfg.set_widths:
            blocks.append(BasicBlock(c_in, width))
            c_in = width
        self.set_blocks = nn.Sequential(*blocks)
        if not isinstance(cfg.temporal, int) or cfg.temporal < 0 or (cfg.temporal and cfg.temporal % 2 == 0):
            raise ValueError(f"{cfg.name}: temporal must be 0 or an odd number of frames, not {cfg.temporal}")
        if cfg.temporal and cfg.set_widths:
            raise ValueError(f"{cfg.name}: temporal reads the backbone's strips, so it takes no set_widths")
        self.motion = MicroMotion(c_in, cfg.temporal) if cfg.temporal else None
        self.num_parts = sum(cfg.strips)
        self.fc = SeparateFC(self.num_parts, c_in, cfg.embed_dim)
        self.head = PartBNNeck(self.num_parts, cfg.embed_dim, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        frames, n, t = _fold_frames(x)
        fmap = self.backbone(frames)
        pooled = fmap.reshape(n, t, *fmap.shape[1:]).amax(dim=1)  # set pooling: (N, c, h, w)
        features = strip_features(self.set_blocks(pooled), self.cfg.strips)
        if self.motion is not None:
            per_frame = strip_features(fmap, self.cfg.strips)
            features = features + self.motion(per_frame.reshape(n, t, *per_frame.shape[1:]))
        return features.permute(0, 2, 1)  # (N, P, c)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        parts = self.fc(features)
        return parts if pre_logits else self.head(parts)

    def reset_classifier(self, num_classes: int) -> None:
        self.head = PartBNNeck(self.num_parts, self.cfg.embed_dim, num_classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = self.forward_head(self.forward_features(x), pre_logits=True)
        return {"embedding": parts.flatten(1), "parts": parts, "logits": self.head(parts)}
