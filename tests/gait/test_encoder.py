"""The shipped gait weights: inference with onnxruntime only."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.gait.encoder import DEFAULT_MODEL, WEIGHTS_DIR, GaitEncoder
from gaitid.gait.normalize import mirror_silhouettes, normalize_sequence, normalize_silhouette
from gaitid.types import Embedding, Walk

DATA = Path(os.environ.get("GAITID_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
CASIA_B = DATA / "casia-b"
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
    """A raw mask (any size, anywhere in the frame) comes out as the training frames are made: head to feet
    over all 64 rows, and the column that splits the silhouette's mass in half at the window's centre."""
    mask = np.zeros((300, 400), np.float32)
    mask[40:280, 100:160] = 0.9  # body
    mask[80:120, 160:260] = 0.9  # an arm held out to one side pulls the mass centre right of the body
    emb = GaitEncoder().embed_masks([mask] * 5)
    assert emb.num_frames == 5
    frame = normalize_silhouette(mask)
    assert frame is not None and frame.shape == (64, 44)
    rows = np.flatnonzero(frame.any(axis=1))
    assert (rows[0], rows[-1]) == (0, 63)
    mass = frame.sum(axis=0).cumsum()
    assert abs(int(np.searchsorted(mass, mass[-1] / 2.0)) - 22) <= 1


@pytest.mark.skipif(not CASIA_B.exists(), reason=f"CASIA-B silhouettes not found at {CASIA_B}")
def test_embed_masks_recovers_the_training_frames_from_a_scaled_walk():
    """A CASIA-B walk scaled up and placed in a large frame, as the pipeline's masks are, normalises back to
    the dataset's own frames (OpenGait's pretreatment, cut to the middle 44 columns) and embeds alike."""
    walk = np.unpackbits(np.load(CASIA_B / "001.npz")["nm-01_090"], axis=-1)
    walk = walk[walk.reshape(len(walk), -1).any(axis=1)]
    training = walk[:, :, 10:54].astype(np.float32)
    raw = []
    for frame in walk:
        canvas = np.zeros((360, 480), np.uint8)
        canvas[50:223, 130:303] = cv2.resize(frame * 255, (173, 173), interpolation=cv2.INTER_LINEAR)
        raw.append(canvas)
    ours = normalize_sequence(raw)
    iou = (ours * training).sum(axis=(1, 2)) / np.maximum(ours, training).sum(axis=(1, 2))
    assert np.median(iou) > 0.95 and iou.min() > 0.7, np.percentile(iou, [0, 5, 50])
    encoder = GaitEncoder()
    a, b = encoder.embed_masks(raw).vector, encoder.embed(training).vector
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.995  # a 6-column shift scores 0.97


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


def test_encoder_session_threads_do_not_spin():
    # as HumanPoseNN's sessions (tests/pose/test_runtime.py): idle threads sleep instead of taking a core
    options = GaitEncoder(threads=2)._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.skipif(not CASIA_B.exists(), reason=f"CASIA-B silhouettes not found at {CASIA_B}")
def test_a_walk_filmed_the_other_way_embeds_as_the_training_direction():
    """A CASIA-B walk mirrored (the walker crossing left to right, as no training walk does) with keypoints
    that say so embeds as the walk itself; without keypoints, the mirror image is far from it."""
    walk = np.unpackbits(np.load(CASIA_B / "001.npz")["nm-01_090"], axis=-1)
    walk = walk[walk.reshape(len(walk), -1).any(axis=1)][:30, :, 10:54].astype(np.float32)
    keypoints = np.zeros((len(walk), 33, 3), np.float32)
    keypoints[:, :, 1] = np.linspace(100, 270, 33)
    keypoints[:, :, 2] = 0.9
    encoder = GaitEncoder()
    filmed = encoder.embed(walk).vector

    def cosine(v):
        return float(v @ filmed / np.linalg.norm(v) / np.linalg.norm(filmed))

    back = mirror_silhouettes(walk)  # what normalising the mirrored frames gives
    keypoints[:, :, 0] = 300 + 4.0 * np.arange(len(walk))[:, None]  # drifting right
    assert cosine(encoder.embed(Walk(silhouettes=back, keypoints=keypoints)).vector) > 0.999
    assert cosine(encoder.embed(back).vector) < 0.95  # 0.91: further than another person (0.93; own walks 0.99)
    keypoints[:, :, 0] = 300 - 4.0 * np.arange(len(walk))[:, None]  # drifting left, as CASIA-B's walkers do
    assert cosine(encoder.embed(Walk(silhouettes=walk, keypoints=keypoints)).vector) > 0.999
