import json

import pytest
import torch

from gaitid.cli import main
from gaitid.errors import GaitidError
from gaitid.datasets.kinect import kinect_path
from gaitid.training.skeleton import (
    _lr_factor,
    config_from_dict,
    load_skeleton_checkpoint,
    parse_overrides,
    training_device,
)


def test_overrides_are_read_as_yaml():
    assert parse_overrides(["people=[1, 80]", "seed=3", "device=cpu", "max_seconds=2.5"]) == {
        "people": [1, 80],
        "seed": 3,
        "device": "cpu",
        "max_seconds": 2.5,
    }
    with pytest.raises(GaitidError, match="KEY=VALUE"):
        parse_overrides(["people"])
    with pytest.raises(GaitidError, match="cannot read"):
        parse_overrides(["people=[1, 80"])


def test_device_and_budget_are_checked():
    with pytest.raises(GaitidError, match="device must be"):
        config_from_dict({"device": "tpu"})
    with pytest.raises(GaitidError, match="max_seconds"):
        config_from_dict({"max_seconds": -1})
    assert training_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert training_device("auto") == torch.device("cpu")
        with pytest.raises(GaitidError, match="no CUDA GPU"):
            training_device("cuda")


def test_a_time_budget_anneals_the_schedule_by_the_clock():
    cfg = config_from_dict({"steps": 1000, "warmup": 10, "max_seconds": 100})
    assert _lr_factor(cfg, 5, 50.0) == pytest.approx(0.6)  # warm-up goes by steps
    assert _lr_factor(cfg, 10, 0.0) == pytest.approx(1.0)
    assert _lr_factor(cfg, 10, 50.0) == pytest.approx(0.5)  # half the budget spent: half-way down
    assert _lr_factor(cfg, 10, 100.0) == pytest.approx(0.0)
    assert _lr_factor(cfg, 1000, 1.0) == pytest.approx(0.0)  # the steps run out first
    no_budget = config_from_dict({"steps": 1000, "warmup": 10})
    assert _lr_factor(no_budget, 10, 1e9) == pytest.approx(1.0)


def test_train_skeleton_from_the_command_line_with_overrides(tmp_path, capsys):
    if not kinect_path().is_file():
        pytest.skip(
            f"Kinect gait data not found at {kinect_path()} (set GAITID_DATA to the shared data folder)"
        )
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: skelnn_keypoints_lift\nsteps: 1000\nout_dir: /nonexistent/never-used\n")
    out = tmp_path / "run"
    argv = ["train-skeleton", str(cfg), "--out-dir", str(out), "--set", "people=[1, 6]", "--set", "p=3"]
    argv += ["--set", "k=2", "--set", "model_settings={frame_dim: 8, embed_dim: 8}", "--set", "device=cpu"]
    assert main(argv + ["--set", "max_seconds=0.5", "--set", "warmup=1"]) == 0
    assert "'device': 'cpu'" in capsys.readouterr().out
    _, model_cfg, meta = load_skeleton_checkpoint(out / "checkpoint.pt")
    assert 1 <= meta["step"] < 1000  # the half-second budget ended it
    assert model_cfg.num_classes == 6 and model_cfg.frame_dim == 8
    assert json.loads(meta["train_config"])["people"] == [1, 6]
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert all(v.device.type == "cpu" for v in state["model"].values())
