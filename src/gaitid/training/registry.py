"""One registry of every trainable gait network, silhouette and skeleton alike.

Each entry is a default config (a frozen dataclass that names the model) and the class built from it;
`create_model(name, **overrides)` builds one, `model_config(name, **overrides)` gives its typed config
(unknown settings raise), `create_from_config(cfg)` rebuilds a saved one, `list_models()` names them all
and `modality(name)` says what each reads. The table is written out here, not filled by imports.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gaitid.gait.skeleton import SkeletonSpec
from gaitid.training.nets import GaitModelConfig, GaitNN, GaitSetStrips
from gaitid.training.skeleton_nets import SkeletonGaitNN, SkeletonLiftTCN, SkeletonModelConfig, SkeletonTCN

_MODELS: dict[str, tuple[Any, type[nn.Module]]] = {
    cfg.name: (cfg, cls)
    for cfg, cls in [
        # Silhouettes. The seed GaitNN: LSTM (and GRU) over per-frame residual-CNN descriptors.
        (GaitModelConfig(name="gaitnn_lstm", widths=(32, 64, 128), stem_stride=2, rnn="lstm"), GaitNN),
        (GaitModelConfig(name="gaitnn_gru", widths=(32, 64, 128), stem_stride=2, rnn="gru"), GaitNN),
        # Set pooling with horizontal strips, sized for a CPU.
        (
            GaitModelConfig(name="gaitset_strips_s", widths=(32, 64, 128), stem_stride=2, parts=8, embed_dim=128),
            GaitSetStrips,
        ),
        (
            GaitModelConfig(name="gaitset_strips_m", widths=(32, 64, 128), stem_stride=1, parts=16, embed_dim=128),
            GaitSetStrips,
        ),
        # Skeletons. Raw normalised keypoints: an MLP per frame (see benchmarks/results/kinect.md).
        (SkeletonModelConfig(name="skelnn_keypoints", spec=SkeletonSpec(features="keypoints")), SkeletonGaitNN),
        # The same input through temporal convolutions (rnn_layers + 1 blocks, at most 3) instead of the GRU.
        (
            SkeletonModelConfig(name="skelnn_keypoints_tcn", spec=SkeletonSpec(features="keypoints"), rnn_layers=2),
            SkeletonTCN,
        ),
        # The temporal-convolution model with a 3-D lifting stage trained against the Kinect truth.
        (
            SkeletonModelConfig(name="skelnn_keypoints_lift", spec=SkeletonSpec(features="keypoints"), rnn_layers=2),
            SkeletonLiftTCN,
        ),
        # Skeleton heatmaps (joints + limbs, 32 x 24) through a small residual CNN per frame.
        (
            SkeletonModelConfig(
                name="skelnn_heatmaps", spec=SkeletonSpec(features="heatmaps"), widths=(8, 16, 32), stem_stride=2
            ),
            SkeletonGaitNN,
        ),
    ]
}


def list_models(modality: str | None = None) -> list[str]:
    """Names of every registered model, or of those of one modality ("silhouette" or "skeleton")."""
    return sorted(name for name in _MODELS if modality is None or model_modality(name) == modality)


def model_modality(name: str) -> str:
    """What the model reads: "silhouette" or "skeleton"."""
    return "skeleton" if isinstance(_entry(name)[0], SkeletonModelConfig) else "silhouette"


def model_config(name: str, **overrides: object) -> Any:
    """The typed config of model `name` with `overrides` applied (unknown settings raise ValueError)."""
    return _entry(name)[0].replace(**overrides)


def model_config_from_dict(raw: dict[str, Any]) -> Any:
    """A complete model config as saved (`dataclasses.asdict`) back to its typed form."""
    values = {k: v for k, v in raw.items() if k != "name"}
    for key in ("input", "spec"):  # nested specs: their lists were tuples
        if isinstance(values.get(key), dict):
            values[key] = {k: tuple(v) if isinstance(v, list) else v for k, v in values[key].items()}
    return model_config(str(raw["name"]), **values)


def create_model(name: str, **overrides: object) -> nn.Module:
    """Build registered model `name`; `overrides` change settings of its config and must exist there."""
    return create_from_config(model_config(name, **overrides))


def create_from_config(cfg: Any) -> nn.Module:
    """Build a model from a complete config (as saved in a checkpoint)."""
    return _entry(cfg.name)[1](cfg)


def _entry(name: str) -> tuple[Any, type[nn.Module]]:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {list_models()}")
    return _MODELS[name]
