"""The set model run frame by frame (gaitid.gait.frame_maps): the whole graph's vector, each frame run once."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from gaitid.gait.encoder import GaitEncoder, open_session, shipped_weights
from gaitid.gait.frame_maps import FrameMaps, split_at_set_pooling


def _whole(encoder: GaitEncoder, silhouettes: np.ndarray) -> np.ndarray:
    """The vector of the uncut graph, for (T, H, W) silhouettes already in the training direction."""
    (vector,) = encoder._session.run(None, {encoder._input: silhouettes[None, :, None].astype(np.float32)})
    return vector[0]


def _walk(frames: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((frames, 64, 44)) > 0.6).astype(np.float32)


def test_the_shipped_model_is_cut_and_overlapping_windows_run_each_frame_once():
    encoder = GaitEncoder()
    assert encoder._frame_maps is not None, "the shipped set model should be cut at its set pooling"
    walk = _walk(40)
    encoder.embed(walk[:20])
    assert "_session" not in vars(encoder), "a cut model's whole graph is never needed, so never loaded"
    for start, frames_run in ((0, 20), (10, 30), (20, 40), (0, 40)):  # (0, 20): the frames embedded above
        window = walk[start : start + 20]
        assert np.array_equal(encoder.embed(window).vector, _whole(encoder, window))
        assert encoder._frame_maps.frames_run == frames_run
    whole_walk = encoder.embed(walk).vector  # every frame seen: nothing runs, the max is over all 40
    assert encoder._frame_maps.frames_run == 40 and np.array_equal(whole_walk, _whole(encoder, walk))


def test_a_walker_going_the_other_way_is_pooled_from_the_mirrored_frames():
    """The same silhouettes turned to the training direction are other frames: their own maps, not the cached
    maps of the frames as filmed."""
    from gaitid.gait.normalize import mirror_silhouettes
    from gaitid.types import Walk

    encoder = GaitEncoder()
    walk = _walk(20, seed=1)
    keypoints = np.zeros((20, 33, 3), np.float32)
    keypoints[:, :, 0] = np.linspace(100, 300, 20)[:, None]  # crossing the image left to right
    keypoints[:, :, 1] = np.linspace(100, 270, 33)  # 170 pixels tall
    keypoints[:, :, 2] = 0.9
    as_filmed = encoder.embed(walk).vector
    turned = encoder.embed(Walk(silhouettes=walk, keypoints=keypoints)).vector
    assert not np.array_equal(as_filmed, turned)
    assert np.array_equal(as_filmed, _whole(encoder, walk))
    assert np.array_equal(turned, _whole(encoder, mirror_silhouettes(walk)))


def test_the_memory_of_frames_stays_under_its_bound_and_the_vectors_stay_right():
    encoder = GaitEncoder()
    parts = split_at_set_pooling(shipped_weights().read_bytes())

    def cut(max_bytes: int) -> FrameMaps:
        return FrameMaps(parts, lambda part: open_session(shipped_weights(), 1, part), max_bytes=max_bytes)

    walk = _walk(50, seed=2)
    probe = cut(10**9)
    probe(walk[:1, None])
    maps = cut(5 * probe._bytes)  # room for five frames
    for start in (0, 15, 30):  # windows of 20 every 15: five frames shared by neighbours
        window = walk[start : start + 20]
        assert np.array_equal(maps(window[:, None])[0], _whole(encoder, window))
        assert maps._bytes <= maps.max_bytes and len(maps._maps) == 5
    assert maps.frames_run == 20 + 15 + 15  # each window's last five frames remembered for the next


def test_models_that_read_frames_in_order_are_run_whole(tmp_path):
    """The recurrent seed model and a set model with a motion path have no cut: the encoder runs them whole."""
    torch = pytest.importorskip("torch")
    from gaitid.training.export import export_silhouette_onnx
    from gaitid.training.registry import create_model, model_config

    assert split_at_set_pooling(shipped_weights("gaitnn_lstm").read_bytes()) is None
    torch.manual_seed(0)
    cfg = model_config("gaitset_strips_s", num_classes=4, temporal=3)
    model = create_model("gaitset_strips_s", num_classes=4, temporal=3).eval()
    checkpoint = tmp_path / "m.pt"
    torch.save({"model_config": dataclasses.asdict(cfg), "model": model.state_dict(), "step": 0}, checkpoint)
    encoder = GaitEncoder(export_silhouette_onnx(checkpoint, tmp_path / "m.onnx"))
    assert encoder._frame_maps is None
    walk = _walk(9)
    with torch.no_grad():
        expected = model(torch.from_numpy(walk)[None, :, None])["embedding"][0].numpy()
    np.testing.assert_allclose(encoder.embed(walk).vector, expected, atol=1e-4, rtol=0)


def test_the_cut_does_not_import_the_onnx_package_and_leaves_it_importable():
    """The onnx package's import pulls in ml_dtypes (0.4 s); the cut reads its protobuf messages alone, and
    the package still imports and reads models after it, in the same process."""
    code = (
        "import sys, numpy as np\n"
        "from gaitid.gait.encoder import GaitEncoder, shipped_weights\n"
        "encoder = GaitEncoder()\n"
        "encoder.embed(np.ones((3, 64, 44), np.float32))\n"
        "assert encoder._frame_maps is not None\n"
        "assert 'onnx' not in sys.modules and 'ml_dtypes' not in sys.modules, 'the onnx package was imported'\n"
        "import onnx\n"
        "assert len(onnx.load(str(shipped_weights())).graph.node) > 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
