"""Run a cross-view protocol (CASIA-B's standard one) with any embedder and report it as papers do."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gaitid.errors import GaitidError
from gaitid.evaluation.metrics import cross_view_rank1, euclidean_distances, mean_over_gallery_views
from gaitid.evaluation.protocols import CrossViewProtocol
from gaitid.datasets.casia_b import GaitSequences, load_casia_b

#: A function from one walk's normalised silhouettes (T, 64, 44) float32 to its vector (d,).
Embedder = Callable[[np.ndarray], np.ndarray]


def make_embedder(weights: str | Path | None, threads: int = 1, device: str = "cpu") -> tuple[Embedder, str]:
    """An embedder and its model's name from `weights`: None (the shipped default model), a shipped model's
    name, an .onnx file (onnxruntime, on the CPU) or a training checkpoint .pt (torch, on `device`: "cpu",
    "cuda" or "auto")."""
    if weights is not None and str(weights).endswith(".pt"):
        import torch

        from gaitid.training.trainer import load_checkpoint, training_device

        torch.set_num_threads(threads)
        model, cfg, meta = load_checkpoint(weights)
        _expect_silhouette_model(cfg, weights)
        on = training_device(device)
        model.to(on)

        def embed_torch(frames: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                x = torch.from_numpy(np.ascontiguousarray(frames, np.float32))[None, :, None].to(on)
                return model(x)["embedding"][0].cpu().numpy()

        return embed_torch, f"{cfg.name}@step{meta.get('step', '?')}"
    if device not in ("cpu", "auto"):
        raise GaitidError(f"--device {device}: only a training checkpoint (.pt) runs on a GPU; ONNX models run on the CPU")
    from gaitid.gait.encoder import GaitEncoder

    encoder = GaitEncoder(weights, threads=threads)
    return (lambda frames: encoder.embed(frames).vector), encoder.model


def refuse_seen_subjects(weights: str | Path | None, subjects: Sequence[int]) -> None:
    """Raise GaitidError when the model in `weights` was trained on any of `subjects`: a score on people
    the model has seen says nothing. Files that do not record their training subjects (exported before
    they did) are let through."""
    from gaitid.training.config import parse_subjects

    if weights is not None and str(weights).endswith(".pt"):
        from gaitid.training.trainer import casia_train_subjects, load_checkpoint

        recorded = casia_train_subjects(load_checkpoint(weights)[2])
    else:
        from gaitid.gait.encoder import GaitEncoder

        recorded = GaitEncoder(weights).train_subjects
    seen = sorted(set(parse_subjects(recorded)) & set(subjects)) if recorded else []
    if seen:
        raise GaitidError(
            f"{weights}: trained on subjects {recorded}, so it has seen {len(seen)} of the subjects this "
            f"protocol scores ({seen[0]:03d}..{seen[-1]:03d}); score it on people it was not trained on "
            "(casia-b-val for models trained on 013-074, casia-b-val24 for 025-074, casia-b for 001-074)"
        )


def _expect_silhouette_model(cfg: object, weights: str | Path) -> None:
    if not hasattr(cfg, "input"):
        raise GaitidError(f"{weights}: a skeleton model's checkpoint; this protocol scores silhouette models")


def frame_subset(num_frames: int, max_frames: int | None) -> np.ndarray | None:
    """Indices of the central max_frames consecutive frames (None: all frames).

    A contiguous clip keeps the frame rate, which recurrent models depend on, and is what a short walk
    seen by a camera gives.
    """
    if max_frames is None or num_frames <= max_frames:
        return None
    start = (num_frames - max_frames) // 2
    return np.arange(start, start + max_frames)


def embed_all(data: GaitSequences, embed: Embedder, max_frames: int | None, progress: bool) -> np.ndarray:
    iterator: Any = range(len(data))
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="embed", unit="seq", mininterval=5)
    vectors = []
    for i in iterator:
        frames = data.frames(i, frame_subset(data.num_frames(i), max_frames)).astype(np.float32)
        vectors.append(np.asarray(embed(frames), np.float32))
    return np.stack(vectors)


def evaluate_cross_view(
    protocol: CrossViewProtocol,
    embed: Embedder,
    model_name: str = "",
    root: Path | str | None = None,
    subjects: tuple[int, ...] | None = None,
    max_frames: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed the protocol's test sequences and compute its rank-1 tables.

    subjects: a subset of the protocol's subjects (quick checks and tests); default all of them.
    max_frames: embed at most this many (central, consecutive) frames per sequence (default: all frames).
    Returns a JSON-ready dict: rank1 per probe set (percent), per-view means, the full tables, timing.
    """
    subjects = protocol.subjects if subjects is None else tuple(subjects)
    outside = sorted(set(subjects) - set(protocol.subjects))
    if outside:
        raise GaitidError(f"subjects {outside} are not test subjects of protocol {protocol.name}")
    conditions = list(protocol.gallery) + [c for cs in protocol.probes.values() for c in cs]
    data = load_casia_b(subjects, "test", root, conditions=conditions)
    if len(data) == 0:
        raise GaitidError(f"no test sequences found for protocol {protocol.name}")
    t0 = time.perf_counter()
    vectors = embed_all(data, embed, max_frames, progress)
    seconds = time.perf_counter() - t0
    labels = np.array([k.subject for k in data.keys])
    views = np.array([k.view for k in data.keys])
    conds = np.array([k.condition for k in data.keys])
    gallery = np.isin(conds, protocol.gallery)
    result: dict[str, Any] = {
        "protocol": protocol.name,
        "model": model_name,
        "subjects": [int(s) for s in data.subjects],
        "views": list(protocol.views),
        "sequences": len(data),
        "frames": int(sum(data.num_frames(i) for i in range(len(data)))),
        "max_frames": max_frames,
        "embed_seconds": round(seconds, 1),
        "ms_per_sequence": round(1000 * seconds / len(data), 2),
        "rank1": {},
        "per_view": {},
        "tables": {},
    }
    for name, probe_conditions in protocol.probes.items():
        probe = np.isin(conds, probe_conditions)
        dist = euclidean_distances(vectors[probe], vectors[gallery])
        table = cross_view_rank1(
            dist, labels[probe], views[probe], labels[gallery], views[gallery], protocol.views,
            protocol.exclude_identical_views,
        )
        per_view = mean_over_gallery_views(table) * 100
        result["tables"][name] = np.round(table * 100, 2).tolist()
        result["per_view"][name] = np.round(per_view, 2).tolist()
        result["rank1"][name] = round(float(np.nanmean(per_view)), 2)
    return result


def format_report(result: dict[str, Any]) -> str:
    """The per-view rank-1 table (probe views as columns, excluding identical views) and the means."""
    views = result["views"]
    lines = [
        f"{result['protocol']}  model {result['model']}  {result['sequences']} sequences  "
        f"{result['ms_per_sequence']} ms/sequence",
        "rank-1 (%) per probe view, mean over the other gallery views",
        "probe " + " ".join(f"{v:>6}" for v in views) + "   mean",
    ]
    for name, per_view in result["per_view"].items():
        cells = " ".join("   nan" if v != v else f"{v:6.1f}" for v in per_view)
        lines.append(f"{name:<5} {cells} {result['rank1'][name]:6.2f}")
    lines.append("  ".join(f"{k} {v:.2f}" for k, v in result["rank1"].items()))
    return "\n".join(lines)
