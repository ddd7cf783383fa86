import json

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.training.config import load_config, parse_overrides
from gaitid.training.gpu_job import (
    ARMS,
    BASE_CONFIG,
    Arm,
    arm_overrides,
    choose_arm,
    pack,
    validation_mean,
    verdict,
)


def test_base_stays_unless_an_arm_gains_its_margin():
    assert choose_arm({"base": 80.0, "batch16": 80.4, "wide40": 80.9}) == "base"
    assert choose_arm({"base": 80.0, "batch16": 80.5, "wide40": 80.9}) == "batch16"
    assert choose_arm({"base": 80.0, "batch16": 80.5, "wide40": 81.0}) == "wide40"
    assert choose_arm({"base": 80.0, "batch16": 81.2, "wide40": 81.0}) == "batch16"


def test_a_failed_arm_is_out_and_no_scores_is_an_error():
    assert choose_arm({"base": 80.0, "wide40": 79.0}) == "base"
    assert choose_arm({"batch16": 70.0, "wide40": 71.0}) == "wide40"  # base itself failed
    arms = {"base": Arm({}, 0.0), "a": Arm({}, 0.5), "b": Arm({}, 0.5)}
    assert choose_arm({"base": 80.0, "a": 81.0, "b": 81.0}, arms) == "a"  # a tie goes to the first
    with pytest.raises(GaitidError):
        choose_arm({})


def test_every_arm_makes_a_valid_config_on_the_subjects_asked_for(tmp_path):
    for name, arm in ARMS.items():
        overrides = arm_overrides(arm, "013-074", 150.0, "cpu", tmp_path / name)
        cfg = load_config(BASE_CONFIG, parse_overrides(overrides))
        assert cfg.data.subject_list == list(range(13, 75))
        assert cfg.schedule.max_seconds == 150.0 and cfg.trainer.out_dir == str(tmp_path / name)
        assert cfg.trainer.device == "cpu" and cfg.trainer.prefetch > 0
        for key, value in arm.overrides.items():
            section, setting = key.split(".")
            assert cfg.model[setting] == value if section == "model" else getattr(getattr(cfg, section), setting) == value


def test_the_validation_mean_is_that_of_nm_bg_and_cl():
    assert validation_mean({"rank1": {"NM": 90.0, "BG": 80.0, "CL": 61.0}}) == 77.0


def test_pack_copies_the_training_subjects_and_refuses_a_gap(tmp_path):
    source = tmp_path / "casia-b"
    source.mkdir()
    for subject in range(1, 75):
        np.savez(source / f"{subject:03d}.npz", **{"nm-01_090": np.zeros((2, 64, 8), np.uint8)})
    folder = pack(source, tmp_path / "pack")
    assert sorted(p.name for p in folder.iterdir()) == [f"{s:03d}.npz" for s in range(1, 75)]
    (source / "040.npz").unlink()
    with pytest.raises(GaitidError, match="040"):
        pack(source, tmp_path / "pack2")


def test_the_base_config_is_version_5s_recipe_on_a_time_budget():
    base = load_config(BASE_CONFIG, {}).to_dict()
    v5 = load_config(BASE_CONFIG.with_name("gaitset_strips_s_frames20.yaml"), {}).to_dict()
    for section in ("data", "model", "loss", "sampler", "optimizer", "seed"):
        assert base[section] == v5[section], section
    assert base["schedule"]["max_seconds"] > 0 and base["schedule"]["kind"] == "cosine"
    json.dumps(base)


def test_the_final_run_ships_only_one_point_above_version_5s_recipe_on_validation():
    job = {"chosen": "batch16", "validation": {"means": {"base": 86.0, "batch16": 86.74}}, "final": {"exit_code": 0}}
    assert verdict(job)[0]
    assert not verdict({**job, "validation": {"means": {"base": 86.0, "batch16": 86.73}}})[0]
    assert not verdict({**job, "final": {"exit_code": 1}})[0]
    assert not verdict({"validation": {"means": {}}})[0]
