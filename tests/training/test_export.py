import dataclasses

import numpy as np
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
