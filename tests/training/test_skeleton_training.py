"""Skeleton models through the one config system and the one trainer."""

import json

import pytest
import torch
import yaml

from gaitid.cli import main
from gaitid.datasets.kinect import kinect_path
from gaitid.errors import GaitidError
from gaitid.training.config import (
    apply_overrides,
    config_from_dict,
    load_config,
    parse_overrides,
    upgrade_flat_skeleton,
)
from gaitid.training.trainer import load_checkpoint, lr_factor, training_device

KINECT = {"model": {"name": "skelnn_keypoints"}, "data": {"dataset": "kinect"}}


def _kinect(**sections):
    return config_from_dict({**KINECT, **sections})


def test_overrides_are_read_as_yaml_and_set_one_key_of_a_section():
    overrides = parse_overrides(["data.subjects=001-080", "seed=3", "trainer.device=cpu", "schedule.max_seconds=2.5"])
    assert overrides == {"data.subjects": "001-080", "seed": 3, "trainer.device": "cpu", "schedule.max_seconds": 2.5}
    raw = apply_overrides({**KINECT, "data": {"dataset": "kinect", "frames": 30}}, overrides)
    cfg = config_from_dict(raw)
    assert cfg.seed == 3 and cfg.data.subjects == "001-080" and cfg.data.frames == 30
    assert cfg.trainer.device == "cpu" and cfg.schedule.max_seconds == 2.5
    assert KINECT["data"] == {"dataset": "kinect"}  # the raw config is not changed
    with pytest.raises(GaitidError, match="SECTION.KEY=VALUE"):
        parse_overrides(["people"])
    with pytest.raises(GaitidError, match="cannot read"):
        parse_overrides(["seed=[1, 80"])
    with pytest.raises(GaitidError, match="name a section"):
        apply_overrides(KINECT, {"steps": 3})


def test_device_budget_and_dataset_are_checked():
    with pytest.raises(GaitidError, match="device must be"):
        _kinect(trainer={"device": "tpu"})
    with pytest.raises(GaitidError, match="max_seconds"):
        _kinect(schedule={"max_seconds": -1})
    with pytest.raises(GaitidError, match="a skeleton model trains on 'kinect'"):
        config_from_dict({"model": {"name": "skelnn_keypoints"}})
    with pytest.raises(GaitidError, match="a silhouette model trains on 'casia-b'"):
        config_from_dict({"model": {"name": "gaitnn_lstm"}, "data": {"dataset": "kinect"}})
    with pytest.raises(GaitidError, match=r"\['views_per_clip'\]: kinect settings only"):
        config_from_dict({"model": {"name": "gaitnn_lstm"}, "data": {"views_per_clip": 2}})
    assert training_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert training_device("auto") == torch.device("cpu")
        with pytest.raises(GaitidError, match="no CUDA GPU"):
            training_device("cuda")


def test_a_time_budget_anneals_the_schedule_by_the_clock():
    cfg = _kinect(schedule={"steps": 1000, "warmup": 10, "max_seconds": 100})
    assert lr_factor(cfg, 5, 50.0) == pytest.approx(0.6)  # warm-up goes by steps
    assert lr_factor(cfg, 10, 0.0) == pytest.approx(1.0)
    assert lr_factor(cfg, 10, 50.0) == pytest.approx(0.5)  # half the budget spent: half-way down
    assert lr_factor(cfg, 10, 100.0) == pytest.approx(0.0)
    assert lr_factor(cfg, 1000, 1.0) == pytest.approx(0.0)  # the steps run out first
    no_budget = _kinect(schedule={"steps": 1000, "warmup": 10})
    assert lr_factor(no_budget, 10, 1e9) == pytest.approx(1.0)


def test_a_config_of_the_former_skeleton_trainer_reads_as_its_sectioned_form():
    flat = {"model": "skelnn_keypoints_lift", "model_settings": {"bone_lengths": True}, "people": [1, 80],
            "steps": 500, "clip_frames": 30, "views_per_clip": 2, "augment": {"swap": 0.05}, "device": "cpu"}
    sectioned = {
        "model": {"name": "skelnn_keypoints_lift", "bone_lengths": True},
        "data": {"dataset": "kinect", "subjects": "001-080", "frames": 30, "views_per_clip": 2,
                 "augment": {"swap": 0.05}},
        "sampler": {"p": 16, "k": 4},
        "optimizer": {"name": "adamw", "lr": 0.002, "weight_decay": 0.0001},
        "schedule": {"kind": "cosine", "steps": 500, "warmup": 100},
        "loss": {"ce_weight": 1.0},
        "trainer": {"device": "cpu", "out_dir": "runs/skeleton", "checkpoint_every": 250, "log_every": 25},
    }
    assert config_from_dict(flat) == config_from_dict(sectioned)
    assert config_from_dict(upgrade_flat_skeleton(flat)) == config_from_dict(sectioned)
    with pytest.raises(GaitidError, match=r"unknown key\(s\) \['stepz'\]"):
        upgrade_flat_skeleton({"model": "skelnn_keypoints", "stepz": 3})


def test_the_repository_configs_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    paths = sorted(root.glob("*/*.yaml"))
    assert len(paths) >= 20
    for path in paths:
        cfg = load_config(path)
        assert not Path(cfg.trainer.out_dir).is_absolute(), path  # no machine paths
        assert "model" in yaml.safe_load(path.read_text()), path


def test_train_a_skeleton_model_from_the_command_line_with_overrides(tmp_path, capsys):
    if not kinect_path().is_file():
        pytest.skip(f"Kinect gait data not found at {kinect_path()} (set GAITID_DATA to the shared data folder)")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "model: {name: skelnn_keypoints_lift}\ndata: {dataset: kinect}\nschedule: {steps: 1000}\n"
        "trainer: {out_dir: /nonexistent/never-used, progress: false}\n"
    )
    out = tmp_path / "run"
    argv = ["train", str(cfg), "--out-dir", str(out), "--set", "data.subjects=001-006", "--set", "sampler.p=3"]
    argv += ["--set", "sampler.k=2", "--set", "model.frame_dim=8", "--set", "model.embed_dim=8"]
    argv += ["--set", "trainer.device=cpu", "--set", "schedule.max_seconds=0.5", "--set", "schedule.warmup=1"]
    assert main(argv) == 0
    assert "'device': 'cpu'" in capsys.readouterr().out
    _, model_cfg, meta = load_checkpoint(out / "last.pt")
    assert 1 <= meta["step"] < 1000  # the half-second budget ended it
    assert model_cfg.num_classes == 6 and model_cfg.frame_dim == 8 and model_cfg.spec.window == 12  # windows as long as the clips
    assert meta["train_config"]["data"]["subjects"] == "001-006"
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == meta["step"] and "lift" in lines[-1]  # the lifting loss is trained and logged
    state = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    assert all(v.device.type == "cpu" for v in state["model"].values())
