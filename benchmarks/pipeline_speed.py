"""Speed of the whole identification pipeline (`gaitid identify`), frames per second with the time split by
stage, on a 640x480 single-walker video and on vtest.avi (up to six walkers at once).

    python benchmarks/pipeline_speed.py [--repeat 3] [--json benchmarks/results/pipeline_speed.json] [--max-fps F] \
        [--window SIZE STRIDE] [--weights MODEL.onnx]

The single-walker video is made from the shipped sample clip (gaitid/samples/walk.mp4): its central 4:3
region scaled to 640x480, with everything above the utility box's roof (where a second person jumps)
painted grey, so that one walker crosses the frame. vtest.avi is read from ../shared/data/media (or
$GAITID_MEDIA); it is skipped when absent. Each video is first used to enrol its walkers' first halves
into a temporary gallery, then identified whole; only the identification run is timed. Run it on an idle
machine: the two cores are the budget. As `gaitid identify`, the run analyses at most 15 frames a second
(every 2nd frame of the 30 frames/s single walker; `--max-fps F` another rate, 0 every frame; enrolment too,
windows keeping their time span); frames/s and ms per frame count the video's frames, analysed or not.
--window sets the gait windows in frames at 15 a second (default the pipeline's, 20 / 10); --weights another
gait model (as `gaitid identify --weights`); --footage-null off decides each walker without the others as a
null (as `gaitid identify --footage-null off`). Besides ms per frame of video, each run gives the gait stage's
ms per usable walker-frame: the time in the encoder over the frames that went into windows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import Gallery
from gaitid.pipeline import PipelineOptions, analyse
from gaitid.pipeline.walkers import WINDOW_RATE, Walkers, WindowSpec
from gaitid.pipeline import default_estimator
from gaitid.samples import WALK_VIDEO
from gaitid.sources import VideoFile, VideoWriter

ROOF_Y = 240  # rows of the 960x540 sample above the utility box's roof (the jumping man)


def single_walker_video(path: Path) -> Path:
    """The sample clip as a 640x480 video with one walker (see the module doc)."""
    with VideoFile(WALK_VIDEO) as video, VideoWriter(path, video.fps, 640, 480) as writer:
        import cv2

        for frame in video:
            image = frame.image.copy()
            image[:ROOF_Y] = 128
            h, w = image.shape[:2]
            crop_w = h * 4 // 3
            x0 = (w - crop_w) // 2
            writer.write(cv2.resize(image[:, x0 : x0 + crop_w], (640, 480), interpolation=cv2.INTER_AREA))
    return path


class Timed:
    """Wraps a callable and adds its wall time to `totals[name]`."""

    def __init__(self, totals: dict[str, float], name: str, fn) -> None:  # type: ignore[no-untyped-def]
        self.totals, self.name, self.fn = totals, name, fn

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.totals[self.name] += time.perf_counter() - start


class TimedFrames:
    def __init__(self, source, totals: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
        self.source, self.totals = source, totals
        self.frame_count = source.frame_count

    def __iter__(self):  # type: ignore[no-untyped-def]
        it = iter(self.source)
        while True:
            start = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                return
            finally:
                self.totals["decode"] += time.perf_counter() - start
            yield frame


def measure(
    video: Path, gallery_path: Path, repeat: int, out: Path | None, max_fps: float | None = None,
    window: WindowSpec | None = None, weights: str | None = None, footage_null: bool = True,
) -> dict:
    encoder = GaitEncoder(weights)
    options = PipelineOptions(progress=False, max_fps=max_fps, window=window or WindowSpec())
    with VideoFile(video) as v:
        frames = v.frame_count
    # Enrol every walker of the first half (so identification compares against a real gallery).
    enrol = Walkers(encoder, None, options.window)
    analyse(str(video), enrol, PipelineOptions(progress=False, frames=(0, frames // 2), max_fps=max_fps, window=options.window))
    enrolled = [s for s in enrol.states.values() if s.vectors]
    with Gallery.open(gallery_path) as gallery:
        for s in enrolled:
            gallery.enroll(f"walker{s.track_id}", s.embeddings(encoder.model, enrol.window.size))
    runs = []
    for _ in range(repeat):
        totals: dict[str, float] = defaultdict(float)
        estimator = default_estimator()
        estimator.estimate = Timed(totals, "pose", estimator.estimate)
        # A fresh encoder each run, as each `gaitid identify` has: one that embedded the enrolment (the same
        # frames) would remember their feature maps (gaitid.gait.frame_maps) and flatter the gait stage.
        run_encoder = GaitEncoder(weights)
        run_encoder.embed = Timed(totals, "gait vectors", run_encoder.embed)
        with Gallery.open(gallery_path) as gallery:
            gallery.decide = Timed(totals, "gallery", gallery.decide)
            walkers = Walkers(run_encoder, gallery, options.window, footage_null=footage_null)
            walkers.update = Timed(totals, "walkers (incl. vectors, gallery)", walkers.update)
            import gaitid.pipeline.run as app

            original_range = app.frame_range
            app.frame_range = lambda source, first, end: TimedFrames(source, totals)
            try:
                start = time.perf_counter()
                result = analyse(str(video), walkers, options, out=str(out) if out else None, estimator=estimator)
                wall = time.perf_counter() - start
            finally:
                app.frame_range = original_range
        n = result.run.frames_read or result.run.frames
        if result.run.error is not None:
            print(f"{video.name}: the run broke off after {n} frames, so its figures are not the video's: "
                  f"{result.run.error}", file=sys.stderr)
        stages = {k: round(1000 * v / n, 2) for k, v in totals.items()}
        stages["decode (reader thread, overlapped)"] = stages.pop("decode")
        stages["total"] = round(1000 * wall / n, 2)
        stages["tracking, drawing, writing, rest"] = round(
            stages["total"] - stages["pose"] - stages["walkers (incl. vectors, gallery)"], 2
        )
        # Only usable walker-frames (Walkers.is_usable) go into windows: they carry the gait stage's cost.
        usable = sum(s.usable for s in walkers.states.values())
        gait_ms = round(1000 * totals["gait vectors"] / usable, 3) if usable else None
        error = None if result.run.error is None else str(result.run.error)
        runs.append({"frames": n, "analysed": result.run.frames, "error": error,
                     "seconds": round(wall, 3), "fps": round(n / wall, 2),
                     "ms_per_frame": stages, "usable_walker_frames": usable,
                     "gait_ms_per_usable_walker_frame": gait_ms})
    best = max(runs, key=lambda r: r["fps"])
    return {
        "video": video.name,
        "gait_model": encoder.model,
        "enrolled": len(enrolled),
        "tracks": len(walkers.states),
        "identified": sum(1 for s in walkers.states.values() if s.identity is not None and s.identity.name),
        "runs": runs,
        "median_fps": float(np.median([r["fps"] for r in runs])),
        "best": best,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--annotate", action="store_true", help="also write the annotated video (timed)")
    parser.add_argument("--max-fps", type=float, default=WINDOW_RATE,
                        help="identify analysing at most this many frames a second (default 15; 0: every frame)")
    parser.add_argument("--window", type=int, nargs=2, metavar=("SIZE", "STRIDE"),
                        help="gait windows of SIZE frames every STRIDE, counted at 15 a second (default 20 10)")
    parser.add_argument("--weights", help="gait model: a shipped model's name or an .onnx file (default: shipped)")
    parser.add_argument("--footage-null", choices=["on", "off"], default="on",
                        help="decide with the other walkers as a null, as gaitid identify does by default (default on)")
    args = parser.parse_args()
    args.max_fps = args.max_fps or None
    window = WindowSpec(*args.window) if args.window else WindowSpec()
    media = Path(os.environ.get("GAITID_MEDIA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "media"))
    results = {"load_average": os.getloadavg(), "cores": os.cpu_count(), "max_fps": args.max_fps,
               "window": [window.size, window.stride], "footage_null": args.footage_null == "on"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        videos = {"single walker 640x480": single_walker_video(tmp / "walker_640x480.mp4")}
        if (media / "vtest.avi").is_file():
            videos["vtest.avi 768x576"] = media / "vtest.avi"
        else:
            print(f"vtest.avi not found in {media}: skipped", file=sys.stderr)
        for label, video in videos.items():
            out = tmp / f"{video.stem}_annotated.mp4" if args.annotate else None
            r = measure(video, tmp / f"{video.stem}.db", args.repeat, out, args.max_fps, window, args.weights,
                        args.footage_null == "on")
            results[label] = r
            print(f"{label}: median {r['median_fps']:.1f} fps over {args.repeat} runs; best run ms/frame "
                  f"{r['best']['ms_per_frame']}; gait vectors {r['best']['gait_ms_per_usable_walker_frame']} ms "
                  f"per usable walker-frame")
    results["load_average_after"] = os.getloadavg()
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
