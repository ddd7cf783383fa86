import numpy as np
import pytest

from gaitid.errors import InputError
from gaitid.sources.files import VideoFile, VideoWriter, is_image_path, read_image, write_image


def test_writer_makes_h264_mp4_that_reads_back_with_times(tmp_path):
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=10, width=33, height=20) as writer:  # odd width is padded to even
        for value in range(0, 200, 20):
            writer.write(np.full((20, 33, 3), value, np.uint8))
    with VideoFile(path) as video:
        assert video.fps == pytest.approx(10) and (video.width, video.height) == (34, 20)
        assert video._stream.codec_context.name == "h264"
        frames = list(video)
    assert [f.index for f in frames] == list(range(10))
    assert [round(f.time, 3) for f in frames] == [i / 10 for i in range(10)]
    assert abs(int(frames[5].image[10, 10, 0]) - 100) <= 3


def test_truncated_video_is_an_error_not_a_short_video(tmp_path):
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=25, width=64, height=48) as writer:
        rng = np.random.default_rng(0)
        for _ in range(100):
            writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(InputError):
        with VideoFile(cut) as video:
            list(video)


def test_greyscale_image_reads_as_rgb(tmp_path):
    path = tmp_path / "grey.png"
    write_image(path, np.full((5, 7, 3), 77, np.uint8))
    frame = read_image(path)
    assert frame.image.shape == (5, 7, 3) and frame.image.dtype == np.uint8 and frame.image[0, 0, 0] == 77


@pytest.mark.parametrize("name, expected", [("a.JPG", True), ("b.png", True), ("c.mp4", False), ("d", False)])
def test_is_image_path(name, expected):
    assert is_image_path(name) is expected
