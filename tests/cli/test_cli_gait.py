import subprocess
import sys

import pytest

from gaitid.cli import main
from gaitid.gait.encoder import WEIGHTS_DIR

SKELETON_MODEL = str(WEIGHTS_DIR / "skeleton" / "skelnn_ensemble.onnx")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "missing.yaml"], "config not found"),
        (["evaluate", "kinect-xyz"], "unknown protocol"),
        (["evaluate", "casia-b", "--weights", "nope"], "no shipped gait weights"),
        (["evaluate", "casia-b", "--max-frames", "0"], "--max-frames"),
        (["evaluate", "casia-b", "--subjects", "001-003"], "not test subjects"),
        (["evaluate", "casia-b", "--weights", SKELETON_MODEL], "a skeleton model; this needs a silhouette model"),
        (["export", "a.pt", "b.txt"], "must be an .onnx"),
        (["export", "missing.pt", "b.onnx"], "checkpoint not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gaitid: error: ") and message in err


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  name: gaitset_strips_s\nsampler:\n  p: 4\n  kk: 2\n")
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key(s) ['kk'] in config section [sampler]" in err


def test_bad_onnx_file(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not a model")
    r = subprocess.run([sys.executable, "-m", "gaitid", "evaluate", "casia-b", "--weights", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a usable ONNX model" in r.stderr
