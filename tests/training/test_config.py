import pytest

from gaitid.errors import GaitidError
from gaitid.training.config import config_from_dict, load_config, parse_subjects

BASE = {"model": {"name": "gaitset_strips_s"}, "schedule": {"steps": 3}}


def test_minimal_config_defaults():
    cfg = config_from_dict(BASE)
    assert cfg.sampler.p == 8 and cfg.schedule.steps == 3 and cfg.data.subject_list == list(range(1, 75))


@pytest.mark.parametrize(
    "raw, message",
    [
        ({**BASE, "optimiser": {}}, "unknown config section"),
        ({**BASE, "loss": {"triplet_margn": 0.3}}, r"unknown key\(s\) \['triplet_margn'\] in config section \[loss\]"),
        ({"model": {"name": "gaitnn_lstm", "layers": 2}}, "unknown model setting"),
        ({"model": {"name": "nope"}}, "unknown model"),
        ({"model": {"name": "gaitset_strips_s", "parts": 5}}, r"config \[model\].*not divisible into 5"),
        ({"model": {"name": "gaitset_strips_s", "pyramid": [3]}}, r"config \[model\].*not divisible into 3"),
        ({"schedule": {"steps": 3}}, "needs a \\[model\\]"),
        ({**BASE, "optimizer": {"name": "lion"}}, "adam, adamw or sgd"),
        ({**BASE, "data": {"frame_sampling": "all"}}, "frame_sampling"),
        ({"model": {"name": "gaitset_strips_s", "temporal": 3}}, "frame_sampling: contiguous"),
        ({"model": {"name": "gaitset_strips_s", "temporal": 2}}, r"config \[model\].*odd number"),
        ({**BASE, "data": {"frame_steps": [1, 2]}}, "contiguous casia-b clips only"),
        ({**BASE, "data": {"frame_sampling": "contiguous", "frame_steps": [0]}}, "positive whole numbers"),
        ({**BASE, "data": {"frame_sampling": "contiguous", "frame_steps": 2}}, "positive whole numbers"),
        ({**BASE, "data": {"subjects": "a-b"}}, "subjects"),
    ],
)
def test_bad_configs_fail_loudly(raw, message):
    with pytest.raises(GaitidError, match=message):
        config_from_dict(raw)


def test_yaml_and_toml(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("model:\n  name: gaitnn_gru\n  rnn_layers: 3\nsampler:\n  p: 4\n  k: 2\n")
    t = tmp_path / "c.toml"
    t.write_text('[model]\nname = "gaitnn_gru"\nrnn_layers = 3\n[sampler]\np = 4\nk = 2\n')
    assert load_config(y) == load_config(t)
    bad = tmp_path / "c.json"
    bad.write_text("{}")
    with pytest.raises(GaitidError, match="yaml"):
        load_config(bad)


def test_parse_subjects():
    assert parse_subjects("001-003,10") == [1, 2, 3, 10]


def test_a_temporal_model_on_contiguous_clips_at_two_rates():
    cfg = config_from_dict({"model": {"name": "gaitset_strips_s", "temporal": 3},
                            "data": {"frame_sampling": "contiguous", "frame_steps": [1, 2]}})
    assert cfg.data.frame_steps == (1, 2) and cfg.model["temporal"] == 3
