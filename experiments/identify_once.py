"""One identification run over a video, for timing whole processes against each other (issue 19).

    PYTHONPATH=src python experiments/identify_once.py VIDEO GALLERY --enrol   # enrol the first half's walkers
    PYTHONPATH=src python experiments/identify_once.py VIDEO GALLERY [--max-fps 15]

With --enrol, every walker with a window in the video's first half is enrolled into GALLERY (as
benchmarks/pipeline_speed.py does). Otherwise the whole video is identified against GALLERY, and one line
gives the CPU time (all threads) and wall time of the run itself, the frames analysed and read, and each
track's answer. The single-walker video of benchmarks/pipeline_speed.py is made by its
`single_walker_video`.
"""

from __future__ import annotations

import argparse
import os
import time

from gaitid.gait.encoder import GaitEncoder
from gaitid.gallery import Gallery
from gaitid.pipeline import PipelineOptions, analyse
from gaitid.pipeline.walkers import Walkers
from gaitid.sources import VideoFile


def enrol(video: str, gallery_path: str) -> None:
    encoder = GaitEncoder()
    with VideoFile(video) as source:
        frames = source.frame_count or 0
    walkers = Walkers(encoder, None)
    analyse(video, walkers, PipelineOptions(progress=False, frames=(0, frames // 2)))
    with Gallery.open(gallery_path) as gallery:
        for state in walkers.states.values():
            if state.vectors:
                gallery.enroll(f"walker{state.track_id}", state.embeddings(encoder.model, walkers.window.size))
                print(f"enrolled walker{state.track_id}: {len(state.vectors)} vectors")


def identify(video: str, gallery_path: str, max_fps: float | None) -> None:
    encoder = GaitEncoder()
    # max_fps only when asked for, so that the same script times main's code before the option existed
    options = PipelineOptions(progress=False, **({"max_fps": max_fps} if max_fps else {}))
    with Gallery.open(gallery_path) as gallery:
        walkers = Walkers(encoder, gallery, options.window)
        cpu, wall = time.process_time(), time.perf_counter()
        result = analyse(video, walkers, options)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    answers = [(s.track_id, s.identity.name if s.identity else None, s.windows) for s in walkers.states.values()]
    run = result.run
    read = getattr(run, "frames_read", None) or run.frames
    print(
        f"cpu {cpu:.3f} s, wall {wall:.3f} s, frames analysed {run.frames}, read {read}, "
        f"load {os.getloadavg()[0]:.1f}; tracks (id, name, windows): {answers}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("gallery")
    parser.add_argument("--enrol", action="store_true", help="enrol the walkers of the video's first half")
    parser.add_argument("--max-fps", type=float, help="PipelineOptions.max_fps")
    args = parser.parse_args()
    if args.enrol:
        enrol(args.video, args.gallery)
    else:
        identify(args.video, args.gallery, args.max_fps)


if __name__ == "__main__":
    main()
