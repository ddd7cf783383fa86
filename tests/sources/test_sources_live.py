"""Live sources against a real MJPEG stream served on loopback, and bad inputs."""

from __future__ import annotations

import time

import pytest
from streams import MjpegCamera, free_port, mjpeg_camera  # noqa: F401 (fixture)

from gaitid.errors import InputError
from gaitid.sources import LiveOptions, LiveSource, VideoFile, open_source
from gaitid.sources.live import redact_url

FAST = LiveOptions(open_timeout=2.0, give_up_after=8.0, backoff_start=0.1, backoff_max=0.5)


def _read(source: LiveSource, count: int, timeout: float = 5.0) -> list:
    frames = []
    deadline = time.monotonic() + timeout
    while len(frames) < count and time.monotonic() < deadline:
        frame = source.read(timeout=0.5)
        if frame is not None:
            frames.append(frame)
    return frames


def test_stream_gives_timestamped_frames(mjpeg_camera: MjpegCamera) -> None:
    with open_source(mjpeg_camera.url, FAST) as source:
        assert source.is_live and (source.width, source.height) == (128, 96)
        frames = _read(source, 5)
    assert len(frames) == 5
    assert frames[0].image.shape == (96, 128, 3)
    indices = [f.index for f in frames]
    times = [f.time for f in frames]
    assert indices == sorted(indices) and len(set(indices)) == 5
    assert times == sorted(times)


def test_stream_reconnects_after_the_server_restarts(mjpeg_camera: MjpegCamera) -> None:
    with open_source(mjpeg_camera.url, FAST) as source:
        assert len(_read(source, 3)) == 3
        mjpeg_camera.kill()
        time.sleep(0.8)  # the reader notices, fails to reconnect a few times
        while source.read(timeout=0.1) is not None:  # drain what arrived before the kill
            pass
        assert source.reconnects == 0
        mjpeg_camera.start()
        resumed = _read(source, 3, timeout=8.0)
        assert len(resumed) == 3, "frames did not resume after the server came back"
        assert source.reconnects >= 1
        # The restarted camera counts from 0 again: its first grey levels are small.
        assert resumed[0].image.mean() < 100


def test_stream_gives_up_when_the_server_stays_down(mjpeg_camera: MjpegCamera) -> None:
    options = LiveOptions(open_timeout=1.0, give_up_after=1.5, backoff_start=0.1, backoff_max=0.3)
    with open_source(mjpeg_camera.url, options) as source:
        assert len(_read(source, 2)) == 2
        mjpeg_camera.kill()
        start = time.monotonic()
        with pytest.raises(InputError, match="giving up"):
            for _ in source:
                pass
        assert time.monotonic() - start < 6.0


def test_slow_consumer_gets_the_newest_frame_and_drops_the_rest(mjpeg_camera: MjpegCamera) -> None:
    with open_source(mjpeg_camera.url, FAST) as source:
        frames = []
        for frame in source:
            frames.append(frame)
            time.sleep(0.3)  # far slower than the camera's 20 fps
            if len(frames) == 4:
                break
        assert source.frames_dropped > 0
    gaps = [b.index - a.index for a, b in zip(frames, frames[1:])]
    assert max(gaps) > 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (lambda: f"http://127.0.0.1:{free_port()}/stream.mjpg", "cannot open stream"),
        (lambda: f"rtsp://127.0.0.1:{free_port()}/cam", "cannot open stream"),
        (lambda: "57", "camera 57: no such camera"),
        (lambda: "ftp2://example/x", "unsupported stream address"),
        (lambda: "/nonexistent/video.mp4", "no such file"),
        (lambda: "\u00b2", "no such file"),  # "²".isdigit(), but it is no number
        (lambda: "\u0663", "no such file"),  # an Arabic-Indic 3: not camera 3
        (lambda: "9" * 5000, "cannot open"),  # more digits than int() takes, and a name too long
        (lambda: "0" * 30 + "1", "no such file"),
        (lambda: "y" * 300 + "://x", "unsupported stream address"),
    ],
)
def test_bad_sources_fail_fast_with_a_clear_error(spec, message: str) -> None:
    start = time.monotonic()
    with pytest.raises(InputError, match=message):
        open_source(spec(), FAST)
    assert time.monotonic() - start < 5.0


def test_file_paths_open_as_video_files(tmp_path) -> None:
    from gaitid.sources import VideoWriter
    import numpy as np

    path = tmp_path / "clip.mp4"
    with VideoWriter(path, 10, 64, 48) as writer:
        for i in range(5):
            writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    with open_source(path) as source:
        assert isinstance(source, VideoFile) and not source.is_live
        assert len(list(source)) == 5


def test_passwords_are_kept_out_of_messages() -> None:
    assert redact_url("rtsp://admin:secret@127.0.0.1:554/cam") == "rtsp://admin:***@127.0.0.1:554/cam"
    assert redact_url("http://127.0.0.1/x") == "http://127.0.0.1/x"


@pytest.mark.parametrize("ratio, width", [("1/1", 128), ("2/1", 256)])
def test_hls_over_http(tmp_path, ratio: str, width: int) -> None:
    """An HLS playlist (H.264 segments written with PyAV) served on loopback reads as a live source, its
    pixels made square as players show them (an encoder of analogue cameras may send 2:1 or 12:11)."""
    import functools
    import threading
    from fractions import Fraction
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    import av
    import numpy as np

    container = av.open(str(tmp_path / "index.m3u8"), "w", format="hls", options={"hls_time": "1"})
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
    stream.codec_context.sample_aspect_ratio = Fraction(ratio)
    for i in range(20):
        frame = av.VideoFrame.from_ndarray(np.full((96, 128, 3), i * 10, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{server.server_address[1]}/index.m3u8", FAST) as source:
            frames = _read(source, 3)
            assert (source.width, source.height) == (width, 96)
        assert len(frames) == 3 and frames[0].image.shape == (96, width, 3)
    finally:
        server.shutdown()
        server.server_close()


class _FakeConnection:
    fps, width, height = 25.0, 8, 6

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with

    def read(self):
        time.sleep(0.01)
        if self.fail_with is not None:
            raise self.fail_with
        return lambda: __import__("numpy").zeros((6, 8, 3), "uint8")

    def close(self) -> None:
        pass


def test_a_crashing_reader_ends_iteration_with_an_error_instead_of_hanging() -> None:
    source = LiveSource("fake", lambda: _FakeConnection(RuntimeError("decoder exploded")), FAST)
    start = time.monotonic()
    with pytest.raises(InputError, match="decoder exploded"):
        source.read(timeout=5)
    assert time.monotonic() - start < 2
    source.close()


def test_reconnection_attempts_back_off() -> None:
    from gaitid.sources.live import _StreamEnded

    attempts: list[float] = []

    def connect():
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            return _FakeConnection(_StreamEnded("gone"))
        raise InputError("refused")

    options = LiveOptions(open_timeout=1.0, give_up_after=1.6, backoff_start=0.1, backoff_max=0.4)
    with LiveSource("fake", connect, options) as source, pytest.raises(InputError, match="giving up"):
        source.read(timeout=5)
    gaps = [b - a for a, b in zip(attempts[1:], attempts[2:])]
    assert len(attempts) >= 4 and gaps[-1] > gaps[0]  # waits grow between attempts
    assert max(gaps) < 0.4 + 0.2  # and stop growing at backoff_max
