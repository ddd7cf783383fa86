import pytest

from gaitid.cli import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "kinect", "--weights", "nope"], "no shipped skeleton weights"),
        (["evaluate", "kinect", "--subjects", "090-101"], "training set"),
        (["evaluate", "kinect", "--max-frames", "5"], "--max-frames"),
        (["train", "missing.yaml"], "config not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gaitid: error: ") and message in err


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: skelnn_keypoints\nstepz: 3\n")  # the former flat form
    assert main(["train", str(cfg)]) == 2
    assert "unknown key(s) ['stepz']" in capsys.readouterr().err
    cfg.write_text("model: {name: skelnn_keypoints}\ndata: {dataset: kinect, augment: {jitterr: [0, 1]}}\n")
    assert main(["train", str(cfg)]) == 2
    assert "augment: unknown setting(s) ['jitterr']" in capsys.readouterr().err
