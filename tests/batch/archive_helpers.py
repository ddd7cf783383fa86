"""Helpers of the archive tests: real clips cut into the videos of a small archive."""

from __future__ import annotations

from pathlib import Path

from gaitid.sources.files import VideoFile, VideoWriter


def cut_into_parts(video: Path, parts: dict[str, tuple[int, int]], root: Path, fps: float, step: int = 1) -> None:
    """Frames [first, end) of `video` as the video `root`/name, for each name of `parts`; every `step`-th
    pixel kept (2: half size)."""
    writers: dict[str, VideoWriter] = {}
    last = max(end for _, end in parts.values())
    with VideoFile(video) as source:
        for frame in source:
            if frame.index >= last:
                break
            image = frame.image[::step, ::step]
            for name, (first, end) in parts.items():
                if first <= frame.index < end:
                    if name not in writers:
                        (root / name).parent.mkdir(parents=True, exist_ok=True)
                        writers[name] = VideoWriter(root / name, fps, image.shape[1], image.shape[0])
                    writers[name].write(image)
    for writer in writers.values():
        writer.close()
