"""Does `gaitid live` keep up with a camera? A loopback MJPEG camera films a video at a set rate, and the
pipeline identifies from it as `gaitid live` does; how many of the camera's frames the pipeline never saw
(dropped by the live reader because the pipeline was still busy) is the figure.

    python benchmarks/live_keepup.py [--video ../shared/data/media/vtest.avi | --video single] [--fps 30] [--max-fps F]
        [--json benchmarks/results/live_keepup.json]

The camera runs in a process of its own (the frames JPEG-encoded once, before it starts, so that it costs
little CPU while serving) on 127.0.0.1, one frame every 1/fps seconds on a fixed schedule, the whole video
once (then silence). The pipeline (HumanPoseNN, tracker, gait vectors; no gallery) reads it through the same live source
as `gaitid live`, which keeps only the newest frame: every frame that arrives while the previous one is
still waiting is dropped; the live source counts them (`StreamRun.dropped`). The models are loaded
and run once before the camera starts, so the figure is the steady state. As `gaitid live`, the pipeline
analyses at most 15 frames a second by default (`--max-fps F` another rate, 0 every frame): it leaves out,
on purpose, frames that arrive sooner than 0.9/F s after the last it analysed; those are reported apart,
but the reader's count of dropped frames then includes frames that would have been left out anyway (any
frame replaced while the pipeline is busy counts), so below every frame the figure to read is
`analysed_fraction_of_due`: the frames analysed over the F a second that were due.

vtest.avi (768 x 576, 3-6 walkers at once) was filmed at 10 frames/s: served at 30, its walkers cross three
times as fast, so the tracker sees larger steps between frames than a real 30 frames/s camera would give.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from gaitid import stopping
from gaitid.pipeline import PipelineOptions, analyse, default_estimator
from gaitid.pipeline.run import encoder_for, walkers_for
from gaitid.pipeline.stream import PoseEstimator
from gaitid.pipeline.walkers import WINDOW_RATE
from gaitid.pose.geometry import Roi
from gaitid.types import Frame, FramePeople


def encoded_frames(video: Path) -> list[bytes]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    if not frames:
        raise SystemExit(f"{video}: no frame could be read")
    return frames


def serve(port: int, fps: float, frames: list[bytes], ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    """The camera: a client gets the frames once, on a fixed schedule, then nothing, the connection open."""

    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            start = time.monotonic()
            try:
                for i, data in enumerate(frames):
                    delay = start + i / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                    self.wfile.write(head.encode() + data + b"\r\n")
                    self.wfile.flush()
                time.sleep(3600)  # then silence, the connection open: a reconnection would start the video again
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Camera)
    ready.set()
    server.serve_forever()


def warm_estimator(video: Path, walkers) -> PoseEstimator:  # type: ignore[no-untyped-def]
    """HumanPoseNN with every model loaded (the detector, one landmark interpreter per worker thread and the
    lone person's) and the gait model run once, so that the camera's frames find the pipeline ready."""
    estimator = default_estimator()
    capture = cv2.VideoCapture(str(video))
    for index in range(3):
        ok, image = capture.read()
        if ok:
            estimator.estimate(Frame(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), index, index / 10))
    capture.release()
    estimator.landmarker.run_many(np.zeros((256, 256, 3), np.uint8), [Roi(128, 128, 200)])
    encoder = walkers.encoder
    encoder.embed(np.zeros((walkers.window.size, *encoder.silhouette_size), np.float32))
    return estimator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    media = Path(os.environ.get("GAITID_MEDIA", Path(__file__).resolve().parents[2] / "shared" / "data" / "media"))
    parser.add_argument("--video", default=str(media / "vtest.avi"),
                        help="a video file, or 'single' for pipeline_speed.py's single-walker 640x480 video")
    parser.add_argument("--fps", type=float, default=30.0, help="the camera's frame rate")
    parser.add_argument("--max-fps", type=float, default=WINDOW_RATE,
                        help="analyse at most this many frames a second (gaitid live --max-fps; default 15, 0: every frame)")
    parser.add_argument("--json", dest="json_path", type=Path)
    args = parser.parse_args()
    args.max_fps = args.max_fps or None
    with tempfile.TemporaryDirectory() as tmp:
        if args.video == "single":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from pipeline_speed import single_walker_video

            args.video = single_walker_video(Path(tmp) / "walker_640x480.mp4")
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    args.video = Path(args.video)
    if not args.video.is_file():
        print(f"{args.video} not found (set GAITID_MEDIA or --video)", file=sys.stderr)
        return 2
    frames = encoded_frames(args.video)
    port = free_port()
    ready = multiprocessing.Event()
    camera = multiprocessing.Process(target=serve, args=(port, args.fps, frames, ready), daemon=True)
    camera.start()
    ready.wait(10)
    options = PipelineOptions(progress=False, max_fps=args.max_fps)
    walkers = walkers_for(options, encoder_for(options))
    estimator = warm_estimator(args.video, walkers)
    people: list[int] = []
    times: list[float] = []

    def on_frame(frame: Frame, seen: FramePeople) -> None:
        people.append(len(seen.people))
        times.append(time.monotonic())
        if frame.index >= len(frames) - 1:  # the camera's last frame
            stopping.request()

    # Stop at the camera's last frame, or shortly after it should have come (if it was dropped).
    backstop = threading.Timer(len(frames) / args.fps + 5.0, stopping.request)
    load = os.getloadavg()
    backstop.start()
    try:
        result_run = analyse(f"http://127.0.0.1:{port}/", walkers, options, estimator=estimator, on_frame=on_frame)
    finally:
        backstop.cancel()
        camera.terminate()
    run = result_run.run
    read = run.frames if run.frames_read is None else run.frames_read
    dropped = run.dropped or 0
    arrived = read + dropped
    analysed_fps = (len(times) - 1) / (times[-1] - times[0])  # from the first frame analysed to the last
    result = {
        "video": args.video.name,
        "camera_fps": args.fps,
        "max_fps": args.max_fps,
        "frames_arrived": arrived,
        "frames_analysed": run.frames,
        "frames_skipped_on_purpose": read - run.frames,
        "frames_dropped": dropped,
        "dropped_fraction": round(dropped / arrived, 4),
        "analysed_fps": round(analysed_fps, 2),
        # The frames the pipeline should have analysed: all of the camera's, or F a second with --max-fps.
        "analysed_fraction_of_due": round(analysed_fps / min(args.fps, args.max_fps or args.fps), 4),
        "people_per_frame": round(float(np.mean(people)), 2),
        "tracks": len(walkers.states),
        "load_average_before": load,
        "cores": os.cpu_count(),
    }
    print(
        f"{args.video.name} at {args.fps:g} frames/s: {dropped} of {arrived} frames dropped "
        f"({100 * dropped / arrived:.1f} %), {run.frames} analysed ({result['analysed_fps']} a second, "
        f"{100 * result['analysed_fraction_of_due']:.1f} % of those due), {read - run.frames} left out on "
        f"purpose (--max-fps), {result['people_per_frame']} people a frame",
        file=sys.stderr,
    )
    if args.json_path:
        args.json_path.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
