import dataclasses
import json

import numpy as np
import onnx
import pytest
import torch

from gaitid.gait.encoder import GaitEncoder
from gaitid.training.export import export_silhouette_onnx
from gaitid.training.registry import create_model, list_models, model_config


@pytest.mark.parametrize("name", list_models("silhouette"))
def test_onnx_matches_torch(tmp_path, name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=4)
    # give BatchNorm non-trivial running statistics, as a trained model has
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 5, 1, 64, 44))
    model.eval()
    ckpt = tmp_path / "m.pt"
    torch.save({"model_config": dataclasses.asdict(model_config(name, num_classes=4)), "model": model.state_dict(), "step": 0}, ckpt)
    onnx_path = export_silhouette_onnx(ckpt, tmp_path / "m.onnx", version="7")
    encoder = GaitEncoder(onnx_path)
    assert encoder.model == f"{name}/7"
    rng = np.random.default_rng(0)
    for t in (1, 9, 40):
        sil = (rng.random((t, 64, 44)) > 0.6).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(sil)[None, :, None])["embedding"][0].numpy()
        emb = encoder.embed(sil)
        assert emb.vector.shape == ref.shape and emb.num_frames == t
        np.testing.assert_allclose(emb.vector, ref, atol=1e-4, rtol=0)


def _checkpoint(tmp_path, name: str, seed: int, widths=None):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    overrides = {} if widths is None else {"widths": widths}
    cfg = model_config(name, num_classes=4, **overrides)
    model = create_model(name, num_classes=4, **overrides).eval()
    path = tmp_path / f"{name}_{seed}.pt"
    torch.save({"model_config": dataclasses.asdict(cfg), "model": model.state_dict(), "step": seed}, path)
    return path


def test_silhouette_models_make_one_ensemble_whether_checkpoints_or_exported(tmp_path):
    """Two members (one already exported, one a checkpoint; different widths): one ONNX file whose vector is
    the members' unit vectors side by side over sqrt(2), as the encoder loads any model."""
    from gaitid.training.export import export_checkpoints

    first = export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", 1), tmp_path / "a.onnx", version="6")
    second = _checkpoint(tmp_path, "gaitset_strips_s", 2, widths=[8, 16, 32])
    ensemble = GaitEncoder(export_checkpoints([first, second], tmp_path / "e.onnx", version="7"))
    members = GaitEncoder(first), GaitEncoder(export_silhouette_onnx(second, tmp_path / "b.onnx"))
    assert ensemble.model == "gaitset_strips_s/7" and ensemble.dim == members[0].dim + members[1].dim
    sil = (np.random.default_rng(0).random((12, 64, 44)) > 0.6).astype(np.float32)
    parts = [m.embed(sil).vector for m in members]
    expected = np.concatenate([p / np.linalg.norm(p) for p in parts]) / np.sqrt(2)
    np.testing.assert_allclose(ensemble.embed(sil).vector, expected, atol=1e-5, rtol=0)
    assert not list(tmp_path.glob("tmp*"))  # the checkpoint's export beside the output is removed


def test_member_weights_share_the_squared_distance_and_an_ensemble_can_be_a_member(tmp_path):
    """Weights scale each unit vector by the root of its share; an ensemble composed with a third model at
    weights 2 : 1 is the three models at equal weights, which is how a shipped ensemble takes one more member.
    Run through the encoder, so through its frame-by-frame cut as well."""
    from gaitid.training.export import compose_silhouette_ensemble

    paths = [export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", s), tmp_path / f"m{s}.onnx") for s in (1, 2, 3)]
    sil = (np.random.default_rng(1).random((15, 64, 44)) > 0.6).astype(np.float32)
    units = []
    for path in paths:
        vector = GaitEncoder(path).embed(sil).vector
        units.append(vector / np.linalg.norm(vector))
    weighted_path = compose_silhouette_ensemble(paths[:2], tmp_path / "w.onnx", weights=[3, 1])
    metadata = {entry.key: entry.value for entry in onnx.load(str(weighted_path)).metadata_props}
    assert metadata["gaitid_member_weights"] == "0.75,0.25"
    assert json.loads(metadata["gaitid_config"])["member_weights"] == [0.75, 0.25]
    weighted = GaitEncoder(weighted_path)
    np.testing.assert_allclose(weighted.embed(sil).vector, np.concatenate([units[0] * 0.75**0.5, units[1] * 0.5]), atol=1e-5)
    pair = compose_silhouette_ensemble(paths[:2], tmp_path / "pair.onnx")
    nested = GaitEncoder(compose_silhouette_ensemble([pair, paths[2]], tmp_path / "n.onnx", weights=[2, 1]))
    flat = GaitEncoder(compose_silhouette_ensemble(paths, tmp_path / "flat.onnx"))
    np.testing.assert_allclose(nested.embed(sil).vector, flat.embed(sil).vector, atol=1e-6)
    np.testing.assert_allclose(flat.embed(sil).vector, np.concatenate(units) / np.sqrt(3), atol=1e-5)


@pytest.mark.parametrize("weights, message", [("1", "1 member weights for 2 members"), ("1,-1", "must be positive"),
                                              ("1,x", "expected numbers separated by commas")])
def test_bad_member_weights_are_a_clear_error_and_write_nothing(tmp_path, capsys, weights, message):
    from gaitid.cli import main

    a = export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", 1), tmp_path / "a.onnx")
    b = export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", 2), tmp_path / "b.onnx")
    try:
        status = main(["export", str(a), str(b), str(tmp_path / "e.onnx"), "--member-weights", weights])
    except SystemExit as exit:  # a usage error found by argparse
        status = exit.code
    assert status == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "e.onnx").exists()


def test_an_ensemble_refuses_a_skeleton_member(tmp_path):
    from gaitid.errors import GaitidError
    from gaitid.training.export import compose_silhouette_ensemble, export_checkpoints, export_skeleton_onnx

    silhouette = _checkpoint(tmp_path, "gaitset_strips_s", 1)
    name = list_models("skeleton")[0]
    skeleton = tmp_path / "skeleton.pt"
    torch.save({"model_config": dataclasses.asdict(model_config(name, num_classes=4)),
                "model": create_model(name, num_classes=4).state_dict(), "step": 0}, skeleton)
    with pytest.raises(GaitidError, match="all be silhouette models or all skeleton"):
        export_checkpoints([silhouette, skeleton], tmp_path / "x.onnx")
    members = [export_silhouette_onnx(silhouette, tmp_path / "a.onnx"), export_skeleton_onnx(skeleton, tmp_path / "s.onnx")]
    with pytest.raises(GaitidError, match="not a gaitid silhouette model"):
        compose_silhouette_ensemble(members, tmp_path / "y.onnx")


def test_a_damaged_member_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    from gaitid.cli import main

    good = export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", 1), tmp_path / "a.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    assert main(["export", str(good), str(tmp_path / "junk.onnx"), str(tmp_path / "e.onnx")]) == 2
    assert "junk.onnx: not an ONNX model" in capsys.readouterr().err
    assert not (tmp_path / "e.onnx").exists()


def _trained_on(tmp_path, subjects: str, seed: int = 1):  # type: ignore[no-untyped-def]
    path = _checkpoint(tmp_path, "gaitset_strips_s", seed)
    state = torch.load(path, weights_only=False)
    state["train_config"] = {"data": {"dataset": "casia-b", "subjects": subjects}}
    torch.save(state, path)
    return path


def test_an_export_records_the_subjects_it_was_trained_on(tmp_path):
    from gaitid.training.export import export_checkpoints

    first = export_silhouette_onnx(_trained_on(tmp_path, "013-074"), tmp_path / "a.onnx")
    second = export_silhouette_onnx(_trained_on(tmp_path, "025-074", seed=2), tmp_path / "b.onnx")
    unknown = export_silhouette_onnx(_checkpoint(tmp_path, "gaitset_strips_s", 3), tmp_path / "c.onnx")
    assert GaitEncoder(first).train_subjects == "013-074" and GaitEncoder(unknown).train_subjects == ""
    both = GaitEncoder(export_checkpoints([first, second], tmp_path / "e.onnx"))
    assert both.train_subjects == "013-074,025-074"
    assert GaitEncoder(export_checkpoints([first, unknown], tmp_path / "f.onnx")).train_subjects == ""


def test_an_ensemble_with_a_shipped_model_records_its_subjects_once_each(tmp_path):
    """The shipped seed model predates recorded subjects (WEIGHTS.md: 001-074); an ensemble built on it must
    still know them, or a model that has seen the validation people could be scored on them."""
    from gaitid.gait.encoder import shipped_weights
    from gaitid.training.export import export_checkpoints

    seed_model = shipped_weights("gaitnn_lstm")
    assert "gaitid_train_subjects" not in {p.key for p in onnx.load(str(seed_model)).metadata_props}
    other = export_silhouette_onnx(_trained_on(tmp_path, "001-074"), tmp_path / "a.onnx")
    ensemble = GaitEncoder(export_checkpoints([seed_model, other], tmp_path / "v.onnx", version="7"))
    assert ensemble.train_subjects == "001-074"
    copied = tmp_path / "copy.onnx"  # the same bytes outside the package record nothing
    copied.write_bytes(seed_model.read_bytes())
    assert GaitEncoder(export_checkpoints([copied, other], tmp_path / "w.onnx")).train_subjects == ""


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_evaluate_refuses_a_model_on_people_it_was_trained_on(tmp_path, capsys, suffix):
    """A model trained on 013-074 scored on casia-b-val24 (001-024) would be scored on 12 people it has
    seen: a clear refusal, before any data is read; casia-b-val (001-012) is let through."""
    from gaitid.cli import main
    from gaitid.evaluation.crossview import refuse_seen_subjects
    from gaitid.evaluation.protocols import PROTOCOLS

    checkpoint = _trained_on(tmp_path, "013-074")
    weights = checkpoint if suffix == ".pt" else export_silhouette_onnx(checkpoint, tmp_path / "m.onnx")
    assert main(["evaluate", "casia-b-val24", "--weights", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "trained on subjects 013-074" in err and "12 of the subjects" in err and "Traceback" not in err
    refuse_seen_subjects(weights, PROTOCOLS["casia-b-val"].subjects)  # unseen people: no error


def test_the_shipped_model_is_refused_on_the_validation_subjects_it_was_trained_on(capsys):
    from gaitid.cli import main

    assert GaitEncoder().train_subjects == "001-074"
    assert main(["evaluate", "casia-b-val"]) == 2
    assert "trained on subjects 001-074" in capsys.readouterr().err
