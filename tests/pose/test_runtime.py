"""The ONNX sessions HumanPoseNN builds: threads that sleep when idle, and the same answer either way."""

import numpy as np
import onnxruntime as ort
import pytest

from gaitid.pose.detector import CenterNetDetector
from gaitid.pose.runtime import load_onnx, model_path


def test_detector_session_threads_do_not_spin() -> None:
    # Spinning threads doubled the detector's CPU time per call for the same output (issue 19); a session
    # built without the setting would silently bring that cost back.
    session = CenterNetDetector()._session
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.parametrize("threads", [1, 2])
def test_no_spinning_gives_the_same_detections(threads: int) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1, 512, 512, 3)).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    spinning = ort.InferenceSession(str(model_path(CenterNetDetector.model_file)), options, providers=["CPUExecutionProvider"])
    sleeping = load_onnx(CenterNetDetector.model_file, threads)
    expected = spinning.run(None, {"tower_0/images:0": image})
    for got, want in zip(sleeping.run(None, {"tower_0/images:0": image}), expected):
        np.testing.assert_array_equal(got, want)
