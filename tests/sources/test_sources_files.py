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


def _write(path, container: str, codec: str, frames: int = 6) -> None:
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), "rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.parametrize(
    "name, container, codec, demuxer",
    [
        ("a.mp4", "mp4", "libx264", "mov"),
        ("a.mov", "mov", "mpeg4", "mov"),
        ("a.mkv", "matroska", "libx264", "matroska"),
        ("a.webm", "webm", "libvpx", "matroska"),
        ("a.avi", "avi", "mpeg4", "avi"),
        ("a.ts", "mpegts", "libx264", "mpegts"),
        ("a.mpg", "vob", "mpeg2video", "mpeg"),
        ("a.ogv", "ogg", "libvpx", "ogg"),
        ("a.wmv", "asf", "wmv2", "asf"),
    ],
)
def test_the_usual_containers_are_recognised_and_read_by_their_own_demuxer(tmp_path, name, container, codec, demuxer):
    from gaitid.sources.files import CONTAINERS, sniff_container

    path = tmp_path / name
    try:
        _write(path, container, codec)
    except Exception as error:  # an FFmpeg build without that encoder
        pytest.skip(f"cannot write {container}/{codec} here: {error}")
    assert sniff_container(path) == demuxer
    disguised = path.rename(tmp_path / "upload.m3u8")  # the name does not matter, the content does
    with VideoFile(disguised, containers=CONTAINERS) as video:
        assert demuxer in video._container.format.name.split(",")
        assert len(list(video)) >= 5


def test_a_playlist_is_not_a_video_file_when_containers_are_required(tmp_path):
    from gaitid.sources.files import CONTAINERS, UnsupportedContainer, sniff_container

    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, fps=10, width=64, height=48) as writer:
        for i in range(5):
            writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    for text in (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{clip}\n#EXT-X-ENDLIST\n",
        f"ffconcat version 1.0\nfile '{clip}'\n",
        "\x00" * 1000,
    ):
        upload = tmp_path / "upload.mp4"
        upload.write_text(text)
        assert sniff_container(upload) is None
        with pytest.raises(UnsupportedContainer, match="not a video file"):
            VideoFile(upload, containers=CONTAINERS)


@pytest.mark.parametrize("name", ["a" * 300, "x\x00y", "9" * 5000])
def test_impossible_file_names_are_a_clear_error(name):
    with pytest.raises(InputError):
        VideoFile(name)


@pytest.mark.parametrize(
    "rotation, size, rows, cols",
    [
        (0, (48, 64), (0, 11), (0, 15)),
        (90, (64, 48), (48, 63), (0, 11)),  # turned a quarter anticlockwise: top-left goes bottom-left
        (-90, (64, 48), (0, 15), (36, 47)),  # a phone held upright: top-left goes top-right
        (180, (48, 64), (36, 47), (48, 63)),
    ],
)
def test_a_phone_video_is_read_upright_as_players_show_it(tmp_path, rotation, size, rows, cols):
    """Phones store portrait video as landscape frames with a display rotation; players (and FFmpeg's own
    command line) turn the frames upright, and so must gaitid, or every walker lies on their side."""
    import av

    path = tmp_path / "phone.mp4"
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:12, :16] = (255, 0, 0)  # a red block in the stored frame's top-left corner
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(float(rotation))
        for _ in range(5):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, "rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with VideoFile(path) as video:
        assert (video.height, video.width) == size
        frames = list(video)
    assert len(frames) == 5
    image = frames[0].image
    assert image.shape == (*size, 3) and image.flags.c_contiguous
    red = np.argwhere((image[..., 0] > 128) & (image[..., 1] < 100))
    assert (red[:, 0].min(), red[:, 0].max()) == rows and (red[:, 1].min(), red[:, 1].max()) == cols


@pytest.mark.parametrize("ratio, width", [("2/1", 128), ("1/2", 32), ("1/1", 64)])
def test_non_square_pixels_are_made_square_as_players_show_them(tmp_path, ratio, width):
    """Anamorphic video (DV, DVD, some CCTV exports) stores pixels that players stretch; a walker's
    silhouette keeps its true proportions only if gaitid stretches them too."""
    from fractions import Fraction

    import av

    path = tmp_path / "anamorphic.mp4"
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:, 32:] = 255  # the right half white
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(ratio)
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(stored, "rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with VideoFile(path) as video:
        assert (video.width, video.height) == (width, 48)
        image = next(iter(video)).image
    assert image.shape == (48, width, 3)
    white = np.flatnonzero(image[24, :, 0] > 128)
    assert abs(white.min() - width // 2) <= 1 and white.max() == width - 1


def test_interlaced_video_is_not_combed(tmp_path):
    """In interlaced video (analogue CCTV, DV, broadcast) each frame weaves two fields filmed 1/50 s apart;
    anything moving is combed into two, as a walker's legs would be. Players deinterlace; so does gaitid."""
    import av

    path = tmp_path / "interlaced.mp4"
    woven = np.zeros((64, 96, 3), np.uint8)
    woven[0::2, 16:32] = 255  # the top field sees the bar here...
    woven[1::2, 56:72] = 255  # ...and the bottom field, 1/50 s later, here
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"x264-params": "tff=1"})  # coded as interlaced
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(woven, "rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with VideoFile(path) as video:
        image = next(iter(video)).image
    assert image.shape == (64, 96, 3)
    rows = image[8:56, :, 0].astype(int)
    assert (rows[:, 18:30] > 200).all()  # the top field's bar, on every line
    assert (rows[:, 58:70] < 60).all()  # no comb teeth of the other field between them


def test_progressive_video_keeps_every_line(tmp_path):
    path = tmp_path / "progressive.mp4"
    lines = np.zeros((48, 64, 3), np.uint8)
    lines[0::2] = 255  # one-pixel stripes that a deinterlacer would blur away
    with VideoWriter(path, fps=25, width=64, height=48, crf=0) as writer:
        for _ in range(3):
            writer.write(lines)
    with VideoFile(path) as video:
        image = next(iter(video)).image
    assert (image[10:40:2, 8:56, 0] > 150).all() and (image[11:41:2, 8:56, 0] < 100).all()
