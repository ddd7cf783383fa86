"""`gaitid pose`: poses of everyone in an image or a video, as JSON and as an annotated copy."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gaitid.outputs import atomic_path, check_output, counted, write_json
from gaitid.pose.drawing import draw_people
from gaitid.pose.estimator import HumanPoseNN
from gaitid.sources.files import VideoFile, VideoWriter, check_image, is_image_path, read_image, write_image
from gaitid.types import FramePeople


def frame_to_json(people: FramePeople) -> dict[str, Any]:
    """One frame's people in the JSON layout of `gaitid pose --json` (pixel coordinates of the input)."""
    return {
        "index": people.frame_index,
        "time": round(people.time, 4),
        "people": [
            {
                "box": [round(float(v), 1) for v in person.box],
                "score": round(float(person.score), 4),
                "keypoints": [[round(float(x), 1), round(float(y), 1), round(float(c), 3)] for x, y, c in person.keypoints],
            }
            for person in people.people
        ],
    }


DEFAULT_IMAGE_MODEL = "heavy"  # a still image is worth the most accurate model
DEFAULT_VIDEO_MODEL = "full"  # fast enough for real time with several people


def run_pose(input_path: str, out: str | None = None, json_path: str | None = None, model: str | None = None) -> int:
    """Estimate poses in an image or video; write the JSON and annotated copy asked for; print a summary."""
    path = Path(input_path)
    _check_before_work(path, out, json_path)
    if is_image_path(path):
        model = model or DEFAULT_IMAGE_MODEL
        frames, seconds = _pose_image(path, out, model)
        kind = "image"
    else:
        model = model or DEFAULT_VIDEO_MODEL
        frames, seconds = _pose_video(path, out, model)
        kind = "video"
    if json_path is not None:
        document = {"input": str(path), "model": f"blazepose-{model}", "keypoints": "blazepose-33", "frames": frames}
        write_json(document, json_path)
    people = sum(len(f["people"]) for f in frames)
    if kind == "image":
        summary = f"{path.name}: {counted(people, 'person', 'people')} found in {seconds:.2f} s"
    else:
        fps = len(frames) / seconds if seconds > 0 else 0.0
        summary = (
            f"{path.name}: {len(frames)} frames, {people / max(len(frames), 1):.1f} people per frame on average, "
            f"{fps:.1f} frames/s"
        )
    print(summary, file=sys.stderr)
    return 0


def _check_before_work(source: Path, out: str | None, json_path: str | None) -> None:
    """The input, then the outputs, checked before any model is loaded or frame decoded."""
    if is_image_path(source):
        check_image(source)
    else:
        VideoFile(source).close()
    if out is not None:
        wanted = (".jpeg", ".jpg", ".png") if is_image_path(source) else (".mp4",)
        check_output(out, [source], suffixes=wanted)
    if json_path is not None and json_path != "-":
        check_output(json_path, [source], suffixes=(".json",))


def _pose_image(path: Path, out: str | None, model: str) -> tuple[list[dict[str, Any]], float]:
    frame = read_image(path)
    estimator = HumanPoseNN(model=model)
    start = time.perf_counter()
    people = estimator.estimate_image(frame)
    seconds = time.perf_counter() - start
    if out is not None:
        with atomic_path(Path(out)) as tmp:
            write_image(tmp, draw_people(frame.image, people.people))
    return [frame_to_json(people)], seconds


def _pose_video(path: Path, out: str | None, model: str) -> tuple[list[dict[str, Any]], float]:
    video = VideoFile(path)
    estimator = HumanPoseNN(model=model)
    frames: list[dict[str, Any]] = []
    start = time.perf_counter()
    with video, atomic_path(Path(out)) if out else _nothing() as tmp:
        writer = VideoWriter(tmp, video.fps, video.width, video.height) if tmp else None
        try:
            progress = tqdm(video, total=video.frame_count, unit="frame", desc=path.name, file=sys.stderr, leave=False)
            for frame in progress:
                people = estimator.estimate(frame)
                frames.append(frame_to_json(people))
                if writer is not None:
                    writer.write(draw_people(frame.image, people.people))
        finally:
            if writer is not None:
                writer.close()
    return frames, time.perf_counter() - start


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
