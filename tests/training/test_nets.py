import pytest
import torch

from gaitid.training.registry import create_model, list_models, model_config


@pytest.mark.parametrize("name", list_models("silhouette"))
def test_forward_backward_every_model(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5)
    x = torch.rand(4, 6, 1, 64, 44)
    out = model(x)
    cfg = model_config(name)
    parts = 1 if name.startswith("gaitnn") else cfg.parts
    assert out["parts"].shape == (4, parts, cfg.embed_dim)
    assert out["embedding"].shape == (4, parts * cfg.embed_dim)
    assert out["logits"].shape == (4, parts, 5)
    (out["embedding"].pow(2).mean() + out["logits"].mean()).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", list_models("silhouette"))
def test_any_number_of_frames(name):
    model = create_model(name).eval()
    with torch.no_grad():
        for t in (1, 3, 17):
            assert model(torch.rand(2, t, 1, 64, 44))["embedding"].shape[0] == 2


def test_rnn_setting_and_layers():
    model = create_model("gaitnn_lstm", rnn="gru", rnn_layers=3)
    assert isinstance(model.rnn, torch.nn.GRU) and model.rnn.num_layers == 3


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("gaitnn_lstm", {"hidden": 3}, "unknown model setting"),
        ("gaitnn_lstm", {"rnn": "transformer"}, "rnn must be"),
        ("gaitset_strips_s", {"parts": 5}, "not divisible"),
        ("gaitnn_lstm", {"set_widths": (8,)}, "set models"),
        ("gaitnn_lstm", {"pyramid": (1,)}, "set models"),
        ("gaitset_strips_s", {"pyramid": (3,)}, "not divisible into 3"),
        ("gaitset_strips_s", {"pyramid": (0,)}, "positive whole numbers"),
        ("gaitset_strips_s", {"pyramid": "abc"}, "positive whole numbers"),
        ("gaitnn_lstm", {"temporal": 3}, "set models"),
        ("gaitset_strips_s", {"temporal": 4}, "odd number"),
        ("gaitset_strips_s", {"temporal": -1}, "odd number"),
        ("gaitset_strips_s", {"temporal": 3, "set_widths": (64,)}, "no set_widths"),
        ("no_such_model", {}, "unknown model"),
    ],
)
def test_bad_settings_fail_loudly(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        create_model(name, **overrides)


def test_reset_classifier():
    model = create_model("gaitset_strips_s", num_classes=3)
    model.reset_classifier(7)
    assert model(torch.rand(2, 2, 1, 64, 44))["logits"].shape[-1] == 7


def test_set_blocks_run_once_per_clip_on_the_pooled_map():
    plain = create_model("gaitset_strips_s", num_classes=3)
    model = create_model("gaitset_strips_s", num_classes=3, set_widths=[256])
    assert model.fc.weight.shape[1] == 256
    added = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters())
    assert added > 0
    model.eval()
    with torch.no_grad():
        x = torch.rand(2, 5, 1, 64, 44)
        shuffled = x[:, torch.randperm(5)]
        assert torch.allclose(model(x)["embedding"], model(shuffled)["embedding"], atol=1e-5)


def test_pyramid_adds_coarser_strips_of_the_same_pooled_map():
    torch.manual_seed(0)
    model = create_model("gaitset_strips_s", num_classes=3, pyramid=[1, 2, 4]).eval()
    assert model.cfg.pyramid == (1, 2, 4)
    x = torch.rand(2, 5, 1, 64, 44)
    with torch.no_grad():
        features = model.forward_features(x)
        out = model(x)
        fmap = model.backbone(x.flatten(0, 1)).unflatten(0, (2, 5)).amax(dim=1)
    assert features.shape == (2, 8 + 1 + 2 + 4, 128)
    assert out["embedding"].shape == (2, 15 * 128) and out["logits"].shape == (2, 15, 3)
    whole = fmap.amax(dim=(2, 3)) + fmap.mean(dim=(2, 3))
    assert torch.allclose(features[:, 8], whole, atol=1e-5)  # the pyramid's 1: the whole map
    top_half = fmap[:, :, : fmap.shape[2] // 2]
    assert torch.allclose(features[:, 9], top_half.amax(dim=(2, 3)) + top_half.mean(dim=(2, 3)), atol=1e-5)
    plain = create_model("gaitset_strips_s", num_classes=3)
    shared = {k: v for k, v in model.state_dict().items() if not k.startswith(("fc.", "head."))}
    plain.load_state_dict(shared, strict=False)
    with torch.no_grad():
        assert torch.allclose(plain.eval().forward_features(x), features[:, :8], atol=1e-5)


def test_temporal_path_starts_as_the_plain_model_and_reads_the_order():
    torch.manual_seed(0)
    model = create_model("gaitset_strips_s", num_classes=3, temporal=3).eval()
    plain = create_model("gaitset_strips_s", num_classes=3).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("motion.")})
    x = torch.rand(2, 6, 1, 64, 44)
    reversed_x = x.flip(1)
    with torch.no_grad():
        assert torch.allclose(model(x)["embedding"], plain(x)["embedding"], atol=1e-5)  # the gate starts shut
        torch.nn.init.normal_(model.motion.gate)
        torch.nn.init.normal_(model.motion.attend[0].weight)  # an attention that is not symmetric in time
        forward, backward = model(x)["embedding"], model(reversed_x)["embedding"]
        assert not torch.allclose(forward, plain(x)["embedding"], atol=1e-3)
        assert not torch.allclose(forward, backward, atol=1e-4)  # a set model could not tell these apart
        assert model(torch.rand(2, 1, 1, 64, 44))["embedding"].shape == (2, 8 * 128)  # one frame still works
    model.train()
    out = model(x)
    (out["embedding"].pow(2).mean() + out["logits"].mean()).backward()
    assert model.motion.gate.grad is not None and model.motion.gate.grad.abs().sum() > 0
