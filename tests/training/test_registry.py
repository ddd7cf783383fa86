"""One registry for every trainable network: each one builds, runs forward and backward, and rebuilds
from its saved config, whatever its modality."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gaitid.training.registry import create_from_config, create_model, list_models, model_config, model_modality


def _input(model: torch.nn.Module, name: str) -> torch.Tensor:
    cfg = model.cfg
    if model_modality(name) == "silhouette":
        return torch.rand(2, 12, cfg.input.channels, cfg.input.height, cfg.input.width)
    return torch.rand(2, 12, *cfg.spec.frame_shape)


def test_both_modalities_are_in_the_one_registry() -> None:
    assert list_models("silhouette") and list_models("skeleton")
    assert sorted(list_models("silhouette") + list_models("skeleton")) == list_models()
    with pytest.raises(ValueError, match="unknown model"):
        create_model("nope")


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_and_rebuilds_from_its_config(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=3)
    out = model(_input(model, name))
    loss = out["embedding"].pow(2).mean() + out["logits"].mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    rebuilt = create_from_config(model_config(name, num_classes=3))
    assert type(rebuilt) is type(model)
    assert dataclasses.asdict(rebuilt.cfg) == dataclasses.asdict(model.cfg)
