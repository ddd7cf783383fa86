"""How the pipeline's silhouettes differ from the ones GaitNN was trained on, on the same walks.

`../shared/data/casia-b-rgb` holds the RGB video of CASIA-B walks whose silhouettes are in `casia-b/`. For
each walk, HumanPoseNN's masks of the walker (the frames the pipeline would use: box at least
`WindowSpec.min_height` tall, not touching the border) are normalised as identification does
(`gait.normalize.normalize_silhouette`) and held against the dataset's frames of the same walk:

- frame alignment: the dataset keeps only part of each video's frames, and its frame numbers are lost, so
  the pipeline's sequence is slid along the dataset's and the offset with the best mean IoU is taken
  (the walk's silhouettes change with its phase, so the right offset stands out; it is reported);
- per frame, after alignment: IoU, IoU of the head (top 12 rows), of the legs (rows 40-64) and of the
  feet (bottom 8 rows), width (columns with foreground), fill (foreground fraction), holes (background
  pixels enclosed by foreground, as a fraction of the foreground), edge roughness (perimeter over the
  square root of the area);
- walks found: each walk embedded by the shipped model from either set of silhouettes and matched against
  the 74 training subjects' dataset silhouettes nm-01..04 at 090 (296 walks): rank-1 subject right or not,
  and the rank of the right subject (its mean over the walks is the finer figure for comparing models);
- walks found by windows: the same, from the mean distance over the walk's gait windows as the pipeline
  cuts them (`WindowSpec()`: 20 / 10 frames at 15 a second, the same time span at any `--max-fps`),
  closer to what identification does than the whole walk as one set.

The pipeline's walks are embedded with their keypoints, as the pipeline embeds them (so a walker crossing
against the training data's direction is turned round, `gaitid.gait.normalize.as_training_direction`); the
dataset's have none. `--mirror` flips every frame left-right before HumanPoseNN (the walkers then cross the
other way; the mask figures are taken after flipping the masks back).

These subjects are training subjects (001-009): recognition on them is optimistic; the gap is the point.

    python3 benchmarks/domain_gap.py --json benchmarks/results/domain_gap.json \
        [--cache ../runs/casia_rgb_masks_15.npz]
        [--weights MODEL.onnx]  # another gait model than the shipped one (the walks found depend on it)
        [--max-fps F]    # the pipeline analysing at most F frames a second (PipelineOptions.max_fps, default
                         # 15: every 2nd frame; 0: every frame); the dataset's frames are compared at the
                         # same step, at the parity that aligns best; a cache holds one rate
        [--mirror]       # the video mirrored left-right (walkers going the other way)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from gaitid.datasets.casia_b import load_casia_b
from gaitid.datasets.paths import data_root
from gaitid.gait.encoder import GaitEncoder
from gaitid.gait.normalize import mirror_silhouettes, normalize_silhouette
from gaitid.pipeline.run import run_source
from gaitid.pipeline.stream import analysis_step, default_estimator
from gaitid.pipeline.walkers import EDGE_MARGIN, WINDOW_RATE, WindowSpec
from gaitid.sources import VideoFile
from gaitid.types import Walk

HEAD, LEGS, FEET = slice(0, 12), slice(40, 64), slice(56, 64)
CUT = (10, 54)  # the dataset's 64-wide frames cut to the model's 44 columns, as the reader does


Frames = dict[int, list[tuple[int, np.ndarray, np.ndarray]]]  # per track: (frame index, mask, keypoints)


def usable(person, frame_size: tuple[int, int]) -> bool:  # type: ignore[no-untyped-def]
    """Whether the pipeline would use this tracked person's frame for gait: a mask, a box at least
    `WindowSpec.min_height` tall, not touching the frame's border."""
    if person.mask is None or person.track_id is None:
        return False
    height, width = frame_size
    x1, y1, x2, y2 = (float(v) for v in person.box)
    inside = x1 > EDGE_MARGIN and y1 > EDGE_MARGIN and x2 < width - EDGE_MARGIN and y2 < height - EDGE_MARGIN
    return inside and y2 - y1 >= WindowSpec().min_height


def usable_masks(video: Path, max_fps: float | None = None) -> Frames:
    """Per track: (frame index, HumanPoseNN's mask probabilities, keypoints) of every frame the pipeline
    would use (`usable`)."""
    tracks: Frames = {}

    def on_frame(frame, people) -> None:  # type: ignore[no-untyped-def]
        for person in people.people:
            if not usable(person, people.frame_size):
                continue
            tracks.setdefault(int(person.track_id), []).append(
                (people.frame_index, person.mask.copy(), person.keypoints.copy())
            )

    run, _ = run_source(
        str(video), lambda: default_estimator("full", 4, None), on_frame, progress=False, max_fps=max_fps
    )
    if run.error is not None:
        raise SystemExit(f"{video}: {run.error}")
    return tracks


def pipeline_masks(video: Path, threshold: float = 0.5, max_fps: float | None = None) -> Frames:
    """Per track: (frame index, normalised 64 x 44 silhouette, keypoints) of every usable frame of the
    video, the mask cut at `threshold` (0.5: as identification does)."""
    return normalised(usable_masks(video, max_fps), threshold)


def normalised(tracks: Frames, threshold: float = 0.5) -> Frames:
    out: Frames = {}
    for track, frames in tracks.items():
        for index, mask, keypoints in frames:
            cut = mask if threshold == 0.5 else (mask >= threshold).astype(np.float32)
            silhouette = normalize_silhouette(cut)
            if silhouette is not None:
                out.setdefault(track, []).append((index, silhouette, keypoints))
    return out


def walker_in(tracks: Frames, first: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The silhouettes and keypoints of the track with most usable frames in [first, end)."""
    best: list[tuple[np.ndarray, np.ndarray]] = []
    for frames in tracks.values():
        inside = [(s, k) for i, s, k in frames if first <= i < end]
        if len(inside) > len(best):
            best = inside
    if not best:
        return np.zeros((0, 64, 44), np.float32), np.zeros((0, 33, 3), np.float32)
    return np.stack([s for s, _ in best]), np.stack([k for _, k in best])


def mirrored_copy(video: Path, folder: str) -> Path:
    """The video with every frame flipped left-right, losslessly (FFV1), in `folder`."""
    out = Path(folder) / f"{video.stem}_mirrored.avi"
    with VideoFile(video) as source:
        writer = None
        for frame in source:
            image = frame.image[:, ::-1, ::-1]  # mirrored, and RGB to the writer's BGR
            if writer is None:
                height, width = image.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"FFV1"), source.fps, (width, height))
            writer.write(np.ascontiguousarray(image))
    if writer is None:
        raise SystemExit(f"{video}: no frames")
    writer.release()
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def align(ours: np.ndarray, theirs: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The offset o (ours[i + o] ~ theirs[i]) with the best mean IoU over at least 10 shared frames."""
    best = (-1.0, 0)
    for offset in range(-len(theirs) + 10, len(ours) - 9):
        pairs = [(i + offset, i) for i in range(len(theirs)) if 0 <= i + offset < len(ours)]
        score = float(np.mean([iou(ours[a] > 0.5, theirs[b] > 0.5) for a, b in pairs]))
        best = max(best, (score, offset))
    offset = best[1]
    pairs = [(i + offset, i) for i in range(len(theirs)) if 0 <= i + offset < len(ours)]
    return offset, ours[[a for a, _ in pairs]] > 0.5, theirs[[b for _, b in pairs]] > 0.5


def holes(mask: np.ndarray) -> float:
    """Background pixels enclosed by the foreground, as a fraction of the foreground."""
    padded = np.pad(mask.astype(np.uint8), 1)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    enclosed = (flood == 0).sum()
    return float(enclosed / max(mask.sum(), 1))


def roughness(mask: np.ndarray) -> float:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return float(perimeter / max(np.sqrt(mask.sum()), 1.0))


def shape_figures(masks: np.ndarray) -> dict[str, float]:
    return {
        "width": float(np.mean([m.any(axis=0).sum() for m in masks])),
        "fill": float(np.mean([m.mean() for m in masks])),
        "holes": float(np.mean([holes(m) for m in masks])),
        "roughness": float(np.mean([roughness(m) for m in masks])),
    }


def compare(ours: np.ndarray, theirs: np.ndarray, step: int = 1) -> dict[str, object]:
    """`ours` holds every `step`-th frame: compared with every step-th of `theirs`, at the best parity."""
    aligned = [align(ours, theirs[parity::step]) for parity in range(step)]
    offset, a, b = max(aligned, key=lambda r: float(np.mean([iou(x, y) for x, y in zip(r[1], r[2])])))
    return {
        "offset": offset,
        "frames_compared": len(a),
        "iou": float(np.mean([iou(x, y) for x, y in zip(a, b)])),
        "iou_head": float(np.mean([iou(x[HEAD], y[HEAD]) for x, y in zip(a, b)])),
        "iou_legs": float(np.mean([iou(x[LEGS], y[LEGS]) for x, y in zip(a, b)])),
        "iou_feet": float(np.mean([iou(x[FEET], y[FEET]) for x, y in zip(a, b)])),
        "pipeline": shape_figures(a),
        "dataset": shape_figures(b),
    }


def dataset_walk(subject: str, walk: str) -> np.ndarray:
    data = load_casia_b([int(subject)], "train", conditions=[walk], views=["090"])
    return data.frames(0, np.arange(data.num_frames(0))).astype(np.float32)


def training_gallery(encoder: GaitEncoder):  # type: ignore[no-untyped-def]
    """A function from a walk's silhouettes and its subject to that subject's rank (1: found) among the 74
    training subjects, each at the distance of its nearest dataset walk nm-01..04 at 090 (296 walks)."""
    gallery = load_casia_b(range(1, 75), "train", conditions=["nm-01", "nm-02", "nm-03", "nm-04"], views=["090"])
    vectors = np.stack([encoder.embed(gallery.frames(i, np.arange(gallery.num_frames(i)))).vector
                        for i in range(len(gallery))])
    subjects = np.array([int(gallery.subjects[label]) for label in gallery.labels])

    def rank(frames: np.ndarray, subject: int, window: WindowSpec | None = None, keypoints: np.ndarray | None = None) -> int:
        """The whole walk as one set, or (`window`) the mean distance over its windows, cut as the pipeline
        cuts them; with `keypoints`, embedded as the pipeline embeds a walk (turned to the training
        data's direction when it crosses the other way)."""
        bounds = [(0, len(frames))] if window is None else window_bounds(len(frames), window)
        if not bounds:
            return len(np.unique(subjects))
        pieces = [Walk(frames[a:b], None if keypoints is None else keypoints[a:b]) for a, b in bounds]
        distance = np.mean([np.linalg.norm(vectors - encoder.embed(p).vector, axis=1) for p in pieces], axis=0)
        nearest = {s: distance[subjects == s].min() for s in np.unique(subjects)}
        return 1 + int(sum(d < nearest[subject] for s, d in nearest.items() if s != subject))

    return rank


def window_bounds(frames: int, window: WindowSpec) -> list[tuple[int, int]]:
    """[start, end) of the windows `Walkers` cuts from a track of `frames` usable frames: the first when
    `size` are there, then one every `stride`."""
    return [(end - window.size, end) for end in range(window.size, frames + 1, window.stride)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--cache", help="keep (or reuse) the pipeline's silhouettes in this .npz")
    parser.add_argument("--max-fps", type=float, default=WINDOW_RATE,
                        help="the pipeline analyses at most this many frames a second (default 15; 0: every frame)")
    parser.add_argument(
        "--window", type=int, nargs=2, metavar=("SIZE", "STRIDE"),
        help="windows of SIZE analysed frames every STRIDE (default: the pipeline's, 20 / 10 at 15 a second)",
    )
    parser.add_argument("--weights", help="the gait model: a shipped name or an .onnx file (default: shipped)")
    parser.add_argument("--mirror", action="store_true", help="flip every frame left-right before HumanPoseNN")
    args = parser.parse_args()
    root = data_root() / "casia-b-rgb"
    if not root.is_dir():
        print(f"casia-b-rgb not found at {root} (set GAITID_DATA)", file=sys.stderr)
        return 2
    walks = json.loads((root / "walks.json").read_text())
    args.max_fps = args.max_fps or None
    ours = _pipeline_walks(root, walks, args.cache, args.max_fps, args.mirror)
    with VideoFile(root / walks["file"]) as video:
        step, fps = analysis_step(video.fps, args.max_fps), video.fps
    window = WindowSpec().analysed(step, fps) if args.window is None else WindowSpec(*args.window)
    encoder = GaitEncoder(args.weights, threads=1)
    rank = training_gallery(encoder)
    rows = []
    for walk in walks["walks"]:
        key = f"{walk['subject']}-{walk['walk']}"
        theirs = dataset_walk(walk["subject"], walk["walk"])
        mine, keypoints = ours[key], ours.get(f"{key}/keypoints")
        if len(theirs) < 10 or len(mine) < 10:
            rows.append({"walk": key, "skipped": f"{len(theirs)} dataset and {len(mine)} pipeline frames"})
            continue
        as_filmed = mirror_silhouettes(mine) if args.mirror else mine
        row = {"walk": key, "dataset_frames": len(theirs), "pipeline_frames": len(mine), **compare(as_filmed, theirs, step)}
        subject = int(walk["subject"])
        row["rank_from_dataset"] = rank(theirs, subject)
        row["rank_from_pipeline"] = rank(mine, subject, keypoints=keypoints)
        for name in ("dataset", "pipeline"):
            row[f"found_from_{name}"] = row[f"rank_from_{name}"] == 1
        row["rank_by_windows"] = rank(mine, subject, window, keypoints)
        row["found_by_windows"] = row["rank_by_windows"] == 1
        rows.append(row)
        print(f"{key}: IoU {row['iou']:.3f} (head {row['iou_head']:.3f}, legs {row['iou_legs']:.3f}, feet "
              f"{row['iou_feet']:.3f}), offset {row['offset']}, found: dataset {row['found_from_dataset']}, "
              f"pipeline {row['found_from_pipeline']}", file=sys.stderr)
    summary = {**_summary(rows, encoder.model, window), "mirrored": args.mirror,
               "keypoints": any(k.endswith("/keypoints") for k in ours)}
    print(json.dumps(summary, indent=1))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"summary": summary, "walks": rows}, indent=1))
    return 0


def _pipeline_walks(
    root: Path, walks: dict, cache: str | None, max_fps: float | None, mirror: bool = False
) -> dict[str, np.ndarray]:
    """{walk: silhouettes, walk/keypoints: keypoints} (caches made before the keypoints were kept have
    silhouettes only: those walks are embedded without a direction)."""
    if cache and Path(cache).is_file():
        with np.load(cache) as stored:
            cached = float(stored["max_fps"]) if "max_fps" in stored.files else 0.0  # older caches: every frame
            if cached != (max_fps or 0.0):
                sys.exit(f"{cache} holds silhouettes analysed at --max-fps {cached:g}, not {max_fps or 0:g}: "
                         "give another --cache")
            if not any(k.endswith("/keypoints") for k in stored.files):
                print(f"{cache} holds no keypoints: walks embedded as filmed, whatever their direction", file=sys.stderr)
            return {k: stored[k] for k in stored.files if k != "max_fps"}
    with tempfile.TemporaryDirectory() as folder:
        video = mirrored_copy(root / walks["file"], folder) if mirror else root / walks["file"]
        tracks = pipeline_masks(video, max_fps=max_fps)
    out: dict[str, np.ndarray] = {}
    for w in walks["walks"]:
        key = f"{w['subject']}-{w['walk']}"
        out[key], out[f"{key}/keypoints"] = walker_in(tracks, *w["frames"])
    if cache:
        np.savez_compressed(cache, max_fps=np.float64(max_fps or 0.0), **out)
    return out


def _summary(rows: list[dict], model: str, window: WindowSpec) -> dict[str, object]:
    done = [r for r in rows if "skipped" not in r]

    def mean(path: tuple[str, ...]) -> float:
        values = []
        for r in done:
            value = r
            for key in path:
                value = value[key]
            values.append(value)
        return round(float(np.mean(values)), 4)

    return {
        "model": model,
        "walks": len(done),
        "skipped": [r["walk"] for r in rows if "skipped" in r],
        "found_from_dataset": sum(r["found_from_dataset"] for r in done),
        "found_from_pipeline": sum(r["found_from_pipeline"] for r in done),
        "mean_rank_from_dataset": mean(("rank_from_dataset",)),
        "mean_rank_from_pipeline": mean(("rank_from_pipeline",)),
        "window": {"size": window.size, "stride": window.stride},
        "found_by_windows": sum(r["found_by_windows"] for r in done),
        "mean_rank_by_windows": mean(("rank_by_windows",)),
        **{name: mean((name,)) for name in ("iou", "iou_head", "iou_legs", "iou_feet")},
        **{f"{side}_{name}": mean((side, name)) for side in ("dataset", "pipeline")
           for name in ("width", "fill", "holes", "roughness")},
    }


if __name__ == "__main__":
    sys.exit(main())
