import json

import numpy as np
import pytest
import torch

from gaitid.training.config import config_from_dict
from gaitid.datasets.casia_b import load_casia_b
from gaitid.training.trainer import load_checkpoint, lr_factor, train


def _cfg(out_dir, steps, model="gaitset_strips_s", **model_settings):
    return config_from_dict(
        {
            "seed": 3,
            "data": {"frames": 4, "frame_sampling": "random" if model.startswith("gaitset") else "contiguous"},
            "model": {"name": model, "widths": [8, 16, 32], **model_settings},
            "sampler": {"p": 4, "k": 4},
            "optimizer": {"lr": 0.003},
            "schedule": {"steps": steps, "kind": "constant", "warmup": 0},
            "trainer": {"out_dir": str(out_dir), "checkpoint_every": 2, "log_every": 1, "progress": False},
        }
    )


@pytest.fixture(scope="module")
def small_data(casia_root):
    return load_casia_b(range(1, 7), "train", casia_root, conditions=["nm-01", "nm-02", "cl-01"], views=["090", "108"])


def _losses(out_dir):
    return [json.loads(line)["loss"] for line in (out_dir / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model", ["gaitset_strips_s", "gaitnn_lstm"])
def test_a_few_steps_lower_the_loss(tmp_path, small_data, model):
    train(_cfg(tmp_path, 16, model), data=small_data, log=lambda s: None)
    losses = _losses(tmp_path)
    assert len(losses) == 16
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    model_, cfg, meta = load_checkpoint(tmp_path / "step000016.pt")
    assert meta["step"] == 16 and cfg.num_classes == 6


def test_resume_equals_uninterrupted(tmp_path, small_data):
    a, b = tmp_path / "a", tmp_path / "b"
    train(_cfg(a, 4), data=small_data, log=lambda s: None)
    train(_cfg(b, 4), data=small_data, stop_after=2, log=lambda s: None)
    train(_cfg(b, 4), data=small_data, log=lambda s: None)  # resumes at step 2
    sa = torch.load(a / "last.pt", weights_only=False)["model"]
    sb = torch.load(b / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert _losses(a) == _losses(b)


def test_batches_made_ahead_train_as_batches_made_on_demand(tmp_path, small_data):
    # [trainer] prefetch makes batches in a thread; a run stopped and resumed with it must still draw
    # exactly the batches of an uninterrupted run that made each batch when needed
    serial, ahead = tmp_path / "serial", tmp_path / "ahead"
    train(_cfg(serial, 5), data=small_data, log=lambda s: None)
    cfg = config_from_dict({**_cfg(ahead, 5).to_dict(), "trainer": {**_cfg(ahead, 5).to_dict()["trainer"], "prefetch": 3}})
    train(cfg, data=small_data, stop_after=3, log=lambda s: None)
    train(cfg, data=small_data, log=lambda s: None)  # resumes at step 3, two batches had been made ahead
    sa = torch.load(serial / "last.pt", weights_only=False)["model"]
    sb = torch.load(ahead / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert _losses(serial) == _losses(ahead)


def test_channels_last_computes_as_the_standard_layout_and_saves_the_standard_layout(tmp_path, small_data):
    # [trainer] channels_last only changes how the convolution weights lie in memory (a CPU speed-up): with
    # the same weights the outputs are those of the standard layout to float rounding, a run trains alike
    # (not to the bit: the max-pooling's ties on binary silhouettes send gradients by rounding), and its
    # checkpoints are laid out as a model made afresh expects (export, evaluation)
    import copy

    from gaitid.training.registry import create_from_config, model_config

    torch.manual_seed(0)
    standard = create_from_config(model_config("gaitset_strips_s").replace(num_classes=6)).train()
    last = copy.deepcopy(standard).to(memory_format=torch.channels_last)
    x = torch.from_numpy(np.stack([small_data.frames(i)[:4] for i in range(8)]).astype(np.float32)).unsqueeze(2)
    assert torch.allclose(standard(x)["parts"], last(x)["parts"], rtol=1e-4, atol=1e-3)

    losses = {}
    for layout in (True, False):
        out = tmp_path / str(layout)
        raw = _cfg(out, 3).to_dict()
        train(config_from_dict({**raw, "trainer": {**raw["trainer"], "channels_last": layout}}), data=small_data,
              log=lambda s: None)
        losses[layout] = _losses(out)
        state = torch.load(out / "last.pt", weights_only=False)
        conv = state["model"]["backbone.stages.0.conv1.weight"]
        assert conv.is_contiguous() and not conv.is_contiguous(memory_format=torch.channels_last)
        moment = next(s["exp_avg"] for s in state["optimizer"]["state"].values() if s["exp_avg"].shape == conv.shape)
        assert moment.is_contiguous(memory_format=torch.channels_last) == layout  # the run did use the layout
    assert losses[True] == pytest.approx(losses[False], rel=1e-2)


def test_bf16_autocasts_the_forward_pass_and_keeps_float32_weights(tmp_path, small_data, monkeypatch):
    # [trainer] precision = bf16 runs the forward pass under bfloat16 autocast: the losses differ from a
    # float32 run's (so the autocast was applied) by no more than bfloat16's rounding, and the weights, the
    # optimizer's moments and the checkpoints stay float32 (export and evaluation read them as ever)
    import gaitid.training.trainer as trainer

    monkeypatch.setattr(trainer, "_native_bf16", lambda: False)
    losses, warned = {}, {}
    for precision in ("fp32", "bf16"):
        out, lines = tmp_path / precision, []
        raw = _cfg(out, 3).to_dict()
        train(config_from_dict({**raw, "trainer": {**raw["trainer"], "precision": precision}}), data=small_data,
              log=lines.append)
        warned[precision] = sum("no native bfloat16" in line for line in lines)
        losses[precision] = _losses(out)
        state = torch.load(out / "last.pt", weights_only=False)
        assert all(v.dtype == torch.float32 for v in state["model"].values() if v.is_floating_point())
        assert all(m["exp_avg"].dtype == torch.float32 for m in state["optimizer"]["state"].values())
    assert losses["bf16"] != losses["fp32"]
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=5e-2)
    assert warned == {"fp32": 0, "bf16": 1}


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_on_a_cpu_that_computes_it(tmp_path, small_data, monkeypatch, native):
    import gaitid.training.trainer as trainer

    monkeypatch.setattr(trainer, "_native_bf16", lambda: native)
    losses = {}
    for precision in ("auto", "bf16" if native else "fp32"):
        out = tmp_path / precision
        raw = _cfg(out, 2).to_dict()
        train(config_from_dict({**raw, "trainer": {**raw["trainer"], "precision": precision}}), data=small_data,
              log=lambda s: None)
        losses[precision] = _losses(out)
    assert losses["auto"] == losses["bf16" if native else "fp32"]
    assert trainer.training_precision("auto", torch.device("cuda")) == "fp32"  # GPUs: as rehearsed


def test_precision_must_be_auto_fp32_or_bf16(tmp_path):
    from gaitid.errors import GaitidError

    raw = _cfg(tmp_path, 1).to_dict()
    with pytest.raises(GaitidError, match="precision"):
        config_from_dict({**raw, "trainer": {**raw["trainer"], "precision": "fp16"}})


def test_cosine_schedule_with_warmup():
    cfg = config_from_dict({"model": {"name": "gaitnn_lstm"}, "schedule": {"steps": 100, "warmup": 10}})
    assert lr_factor(cfg, 0) == pytest.approx(0.1)
    assert lr_factor(cfg, 10) == pytest.approx(1.0)
    assert lr_factor(cfg, 100) == pytest.approx(0.0)


def test_resume_with_longer_schedule_but_not_other_changes(tmp_path, small_data):
    from gaitid.errors import GaitidError

    train(_cfg(tmp_path, 2), data=small_data, log=lambda s: None)
    messages = []
    train(_cfg(tmp_path, 4), data=small_data, log=messages.append)
    assert torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 4
    assert any("changed [schedule]" in m for m in messages)
    other = _cfg(tmp_path, 6, rnn_hidden=64)
    with pytest.raises(GaitidError, match=r"another \[model\]"):
        train(other, data=small_data, log=lambda s: None)


def test_resume_a_run_written_before_a_setting_was_added(tmp_path, small_data):
    # a run started before [data] frame_steps existed trained with its default: resuming it with today's
    # code is the same run, not "another [data]"
    train(_cfg(tmp_path, 2), data=small_data, log=lambda s: None)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["train_config"]["data"]["frame_steps"]
    torch.save(state, tmp_path / "last.pt")
    train(_cfg(tmp_path, 4), data=small_data, log=lambda s: None)
    assert torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 4
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    state["train_config"]["data"]["frames"] = 6  # a setting the run did change is still refused
    torch.save(state, tmp_path / "last.pt")
    from gaitid.errors import GaitidError

    with pytest.raises(GaitidError, match=r"another \[data\]"):
        train(_cfg(tmp_path, 6), data=small_data, log=lambda s: None)


def test_init_from_starts_from_another_runs_weights(tmp_path, small_data):
    from gaitid.errors import GaitidError

    train(_cfg(tmp_path / "a", 2), data=small_data, log=lambda s: None)
    source = torch.load(tmp_path / "a" / "step000002.pt", weights_only=False)["model"]
    fewer = small_data.subset([i for i, k in enumerate(small_data.keys) if k.subject <= 4])  # 4 classes, not 6
    cfg = _cfg(tmp_path / "b", 1).to_dict()  # one step at learning rate 0: the weights as they started
    cfg = config_from_dict({**cfg, "optimizer": {"lr": 0.0},
                            "trainer": {**cfg["trainer"], "init_from": str(tmp_path / "a" / "step000002.pt")}})
    messages = []
    train(cfg, data=fewer, log=messages.append)
    started = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    same = [k for k in source if source[k].shape == started[k].shape and "running_" not in k
            and "num_batches" not in k]
    assert same and all(torch.equal(source[k], started[k]) for k in same)
    other = sorted(k for k in source if source[k].shape != started[k].shape)
    assert other == ["head.classifier.weight"]  # 4 subjects here, 6 in the source run
    assert any("left as initialised" in m for m in messages)
    lstm = config_from_dict({**cfg.to_dict(), "model": {"name": "gaitnn_lstm", "widths": [8, 16, 32]},
                             "trainer": {**cfg.to_dict()["trainer"], "out_dir": str(tmp_path / "c")}})
    with pytest.raises(GaitidError, match="another architecture"):
        train(lstm, data=fewer, log=lambda s: None)
