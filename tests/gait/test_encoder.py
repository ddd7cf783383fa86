"""The shipped gait weights: inference with onnxruntime only."""

import subprocess
import sys

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.encoder import DEFAULT_MODEL, WEIGHTS_DIR, GaitEncoder
from gaitid.types import Embedding

SHIPPED = sorted(p.stem for p in WEIGHTS_DIR.glob("*.onnx"))


def test_default_model_is_shipped():
    assert DEFAULT_MODEL in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_embed(name):
    encoder = GaitEncoder(name)
    sil = (np.random.default_rng(0).random((30, 64, 44)) > 0.5).astype(np.uint8)
    emb = encoder.embed(sil)
    assert isinstance(emb, Embedding) and emb.vector.shape == (encoder.dim,) and emb.vector.dtype == np.float32
    assert emb.model.startswith(name + "/")
    assert np.isfinite(emb.vector).all()


def test_embed_masks_normalises_like_training():
    encoder = GaitEncoder()
    mask = np.zeros((200, 120), np.float32)
    mask[20:180, 40:80] = 0.9
    emb = encoder.embed_masks([mask] * 5)
    assert emb.num_frames == 5


@pytest.mark.parametrize("bad", [np.zeros((5, 64, 64)), np.zeros((0, 64, 44)), np.zeros((64, 44))])
def test_bad_shapes(bad):
    with pytest.raises(GaitidError, match="expected silhouettes"):
        GaitEncoder().embed(bad)


def test_unknown_weights():
    with pytest.raises(GaitidError, match="no shipped gait weights"):
        GaitEncoder("nope")


def test_inference_path_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from gaitid.gait.encoder import GaitEncoder\n"
        "GaitEncoder().embed(np.ones((3, 64, 44), np.float32))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
