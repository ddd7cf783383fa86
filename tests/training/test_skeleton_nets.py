import numpy as np
import pytest
import torch

from gaitid.errors import GaitidError
from gaitid.gait.skeleton import GAIT_LIMBS
from gaitid.training.registry import create_model, list_models, model_config


@pytest.mark.parametrize("name", list_models("skeleton"))
def test_forward_backward_every_model(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=5)
    spec = model.cfg.spec
    x = torch.rand(4, 6, *spec.frame_shape)
    out = model(x)
    assert out["embedding"].shape == (4, model.cfg.embed_dim)
    assert out["parts"].shape == (4, 1, model.cfg.embed_dim) and out["logits"].shape == (4, 1, 5)
    (out["logits"].sum() + out["embedding"].sum()).backward()
    # any number of frames
    model.eval()
    assert model(torch.rand(1, 3, *spec.frame_shape))["embedding"].shape == (1, model.cfg.embed_dim)


@pytest.mark.parametrize("bones", [False, True])
def test_lifting_model_estimates_a_3d_skeleton_per_frame(bones):
    model = create_model(
        "skelnn_keypoints_lift", num_classes=3, frame_dim=16, embed_dim=8, bone_lengths=bones
    )
    x = torch.rand(2, 9, 45)
    out = model(x)
    assert out["lifted"].shape == (2, 9, 15, 3)
    out["embedding"].sum().backward()
    assert model.lift_head.weight.grad.abs().sum() > 0  # identity gradients reach the lifter
    model.eval()
    with torch.no_grad():  # inference goes through the same lifter and identity stage
        features = model.forward_features(x)
        np.testing.assert_allclose(
            model.forward_head(features, pre_logits=True).flatten(1), model(x)["embedding"], atol=1e-6
        )


def test_identity_from_the_3d_estimate_alone_leaves_the_lifter_to_the_lift_loss():
    settings = {"num_classes": 3, "frame_dim": 16, "embed_dim": 8, "bone_lengths": True}
    model = create_model("skelnn_keypoints_lift", identity_from="lifted", **settings)
    x = torch.rand(2, 9, 45)
    out = model(x)
    out["embedding"].sum().backward()
    assert model.lift_head.weight.grad is None  # identity gradients stop at the 3-D estimate
    assert model.mix[0].weight.grad.abs().sum() > 0
    # the 3-D estimate and its limb lengths, no lifter features
    assert model.mix[0].in_channels == 15 * 3 + len(GAIT_LIMBS)
    out["lifted"].sum().backward()
    assert model.lift_head.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="identity_from"):
        create_model("skelnn_keypoints_lift", identity_from="features")


def test_unknown_model_and_setting():
    with pytest.raises(ValueError, match="unknown model"):
        model_config("nope")
    with pytest.raises(ValueError, match="unknown model setting"):
        model_config("skelnn_keypoints", depth=3)


def test_export_and_encoder_agree_with_torch(tmp_path):
    import dataclasses
    import json

    from gaitid.gait.skeleton_encoder import SkeletonEncoder
    from gaitid.training.export import export_skeleton_onnx
    from gaitid.training.skeleton_nets import inference_embedding
    from gaitid.training.trainer import load_checkpoint

    torch.manual_seed(0)
    model = create_model("skelnn_keypoints", num_classes=3, rnn_hidden=16, frame_dim=16, embed_dim=8)
    model.head.bn.running_mean.fill_(0.3)  # as if trained: the exported vector is the BN-neck output
    model.head.bn.running_var.fill_(4.0)
    ckpt = tmp_path / "c.pt"
    torch.save(
        {"model": model.state_dict(), "step": 7, "model_config": json.dumps(dataclasses.asdict(model.cfg))},
        ckpt,
    )
    loaded, cfg, meta = load_checkpoint(ckpt)  # written as the former skeleton trainer did: JSON config
    assert meta["step"] == 7 and cfg == model.cfg
    onnx_path = export_skeleton_onnx(ckpt, tmp_path / "m.onnx", version="3")
    enc = SkeletonEncoder(onnx_path)
    assert enc.model == "skelnn_keypoints/3" and enc.spec == cfg.spec and enc.dim == 8
    x = np.random.default_rng(0).random((11, 45)).astype(np.float32)
    with torch.no_grad():
        expected = inference_embedding(loaded, torch.from_numpy(x)[None])[0].numpy()
        raw = loaded(torch.from_numpy(x)[None])["embedding"][0].numpy()
    assert not np.allclose(expected, raw)  # the BN-neck output, with the trained running statistics
    np.testing.assert_allclose(enc.embed_features(x), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(GaitidError, match="expected features"):
        enc.embed_features(np.zeros((4, 44)))


def test_encoder_on_a_track(tmp_path):
    """Keypoints of HumanPoseNN people over time -> one Embedding (resampled by timestamps)."""
    import dataclasses
    import json

    from gaitid.gait.skeleton_encoder import SkeletonEncoder
    from gaitid.training.export import export_skeleton_onnx
    from gaitid.types import Person, Track

    model = create_model("skelnn_keypoints", num_classes=3, rnn_hidden=8, frame_dim=8, embed_dim=4)
    ckpt = tmp_path / "c.pt"
    torch.save(
        {"model": model.state_dict(), "step": 1, "model_config": json.dumps(dataclasses.asdict(model.cfg))},
        ckpt,
    )
    enc = SkeletonEncoder(export_skeleton_onnx(ckpt, tmp_path / "m.onnx"))
    rng = np.random.default_rng(1)
    people = []
    for _ in range(30):
        kp = np.zeros((33, 3), np.float32)
        kp[:, :2] = rng.uniform(100, 300, (33, 2))
        kp[:, 2] = 0.9
        people.append(Person(box=np.zeros(4, np.float32), score=1.0, keypoints=kp))
    track = Track(1, tuple(range(30)), tuple(i / 30 for i in range(30)), tuple(people))
    e = enc.embed_track(track)
    assert e.vector.shape == (4,) and e.num_frames == 15 and e.model.startswith("skelnn_keypoints/")
    short = Track(1, (0, 1), (0.0, 0.1), tuple(people[:2]))
    with pytest.raises(GaitidError, match="too few frames"):
        enc.embed_track(short)


def test_shipped_skeleton_model_runs_without_torch():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from gaitid.gait.skeleton_encoder import SkeletonEncoder\n"
        "kp = np.random.default_rng(0).uniform(100, 300, (50, 33, 3)).astype(np.float32); kp[..., 2] = 0.9\n"
        "e = SkeletonEncoder().embed_keypoints(kp, times=np.arange(50) / 25.0)\n"
        "assert e.vector.shape == (512,) and np.isfinite(e.vector).all()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _save_checkpoint(model, path, step=1):
    import dataclasses
    import json

    torch.save(
        {
            "model": model.state_dict(),
            "step": step,
            "model_config": json.dumps(dataclasses.asdict(model.cfg)),
        },
        path,
    )
    return path


def test_ensemble_export_matches_its_members(tmp_path):
    """Several skeleton checkpoints export as one model: the members' unit vectors, concatenated and scaled
    to a unit vector, equal to torch to 1e-4; `gaitid export` takes them all at once."""
    from gaitid.cli import main
    from gaitid.gait.skeleton_encoder import SkeletonEncoder
    from gaitid.training.export import ENSEMBLE_NAME
    from gaitid.training.skeleton_nets import inference_embedding

    torch.manual_seed(1)
    members = [
        create_model("skelnn_keypoints_tcn", num_classes=3, frame_dim=8, embed_dim=4),
        create_model(
            "skelnn_keypoints_lift", num_classes=3, frame_dim=8, embed_dim=6, bone_lengths=True
        ),
    ]
    paths = [_save_checkpoint(m.eval(), tmp_path / f"m{i}.pt", step=10 + i) for i, m in enumerate(members)]
    out = tmp_path / "ens.onnx"
    assert main(["export", *map(str, paths), str(out), "--version", "2"]) == 0
    enc = SkeletonEncoder(out)
    assert enc.model == f"{ENSEMBLE_NAME}/2" and enc.dim == 10
    x = np.random.default_rng(0).random((12, 45)).astype(np.float32)
    with torch.no_grad():
        parts = [inference_embedding(m, torch.from_numpy(x)[None])[0].numpy() for m in members]
    expected = np.concatenate([p / np.linalg.norm(p) for p in parts]) / np.sqrt(2)
    np.testing.assert_allclose(enc.embed_features(x), expected, rtol=1e-4, atol=1e-5)
    assert np.linalg.norm(enc.embed_features(x)) == pytest.approx(1.0, abs=1e-5)


def test_ensemble_members_must_share_their_input(tmp_path, capsys):
    import dataclasses

    from gaitid.cli import main

    a = create_model("skelnn_keypoints_tcn", num_classes=3, frame_dim=8, embed_dim=4)
    b = create_model(
        "skelnn_keypoints_tcn",
        num_classes=3,
        frame_dim=8,
        embed_dim=4,
        spec={"features": "keypoints", "fps": 10},
    )
    paths = [str(_save_checkpoint(m, tmp_path / f"m{i}.pt")) for i, m in enumerate((a, b))]
    assert main(["export", *paths, str(tmp_path / "e.onnx")]) == 2
    assert "same input" in capsys.readouterr().err
    silhouette = create_model("gaitnn_lstm", num_classes=3, widths=(4, 8, 8), rnn_hidden=8)
    torch.save({"model": silhouette.state_dict(), "step": 1, "model_config": dataclasses.asdict(silhouette.cfg)},
               tmp_path / "gait.pt")
    assert main(["export", paths[0], str(tmp_path / "gait.pt"), str(tmp_path / "e.onnx")]) == 2
    assert "all be silhouette models or all skeleton models" in capsys.readouterr().err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert main(["export", paths[0], str(tmp_path / "junk.pt"), str(tmp_path / "e.onnx")]) == 2
    assert "junk.pt: not a PyTorch checkpoint file" in capsys.readouterr().err


def test_ensemble_scored_from_its_members_vectors_equals_the_exported_ensemble(tmp_path):
    """Ensemble choices are scored from each member's stored vectors (`ensemble_vectors`); over several
    windows that must give what the exported ensemble gives, which normalises every window's vector."""
    from gaitid.evaluation.kinect import ProtocolVectors, ensemble_vectors, make_skeleton_embedder
    from gaitid.gait.skeleton_encoder import SkeletonEncoder
    from gaitid.training.export import export_skeleton_onnx

    torch.manual_seed(2)
    spec = {"features": "keypoints", "window": 6}
    members = [
        create_model("skelnn_keypoints_tcn", num_classes=3, frame_dim=8, embed_dim=4, spec=spec),
        create_model(
            "skelnn_keypoints_lift",
            num_classes=3,
            frame_dim=8,
            embed_dim=6,
            spec=spec,
            identity_from="lifted",
        ),
    ]
    paths = [_save_checkpoint(m.eval(), tmp_path / f"m{i}.pt") for i, m in enumerate(members)]
    enc = SkeletonEncoder(export_skeleton_onnx(paths, tmp_path / "ens.onnx"))
    walks = [np.random.default_rng(i).random((n, 45)).astype(np.float32) for i, n in enumerate((20, 9))]
    ids = np.arange(len(walks))

    def member_run(path):
        embed, _, _ = make_skeleton_embedder(path, unit_windows=True)
        return ProtocolVectors(np.stack([embed(w) for w in walks]), ids, ids, ids)

    combined = ensemble_vectors([member_run(p) for p in paths]).vectors
    np.testing.assert_allclose(combined, [enc.embed_features(w) for w in walks], rtol=1e-4, atol=1e-5)
    with pytest.raises(GaitidError, match="different walks"):
        ensemble_vectors([member_run(paths[0]), ProtocolVectors(combined, ids, ids[::-1], ids)])
