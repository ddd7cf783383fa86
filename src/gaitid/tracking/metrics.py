"""Multi-object tracking scores against ground truth: CLEAR MOT (MOTA, MOTP, ID switches, fragmentations)
and the identity scores IDF1, IDP and IDR (Ristani et al., 2016). Pure functions of boxes and identities.

Both inputs map a frame index to `(ids, boxes)`: ids a sequence of ints, boxes (n, 4) x1, y1, x2, y2.
Only frames present in the ground truth are scored; a hypothesis box matches a ground-truth box when their
IoU is at least `iou_threshold`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from gaitid.tracking.tracker import iou_matrix

FrameBoxes = Mapping[int, tuple[Sequence[int], np.ndarray]]


@dataclass(frozen=True)
class TrackingScores:
    num_frames: int
    num_gt: int  # ground-truth boxes over all scored frames
    num_predictions: int
    num_gt_tracks: int
    num_predicted_tracks: int
    matches: int
    false_positives: int
    misses: int
    id_switches: int
    fragmentations: int
    mota: float
    motp: float  # mean IoU of matched pairs
    idf1: float
    idp: float
    idr: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def _empty(entry: tuple[Sequence[int], np.ndarray] | None) -> tuple[list[int], np.ndarray]:
    if entry is None:
        return [], np.zeros((0, 4))
    ids, boxes = entry
    return [int(i) for i in ids], np.asarray(boxes, np.float64).reshape(-1, 4)


def evaluate(ground_truth: FrameBoxes, predicted: FrameBoxes, iou_threshold: float = 0.5) -> TrackingScores:
    frames = sorted(ground_truth)
    last_match: dict[int, int] = {}  # gt id -> hypothesis id it was last matched to
    current: dict[int, int] = {}  # correspondences of the previous frame
    tracked_history: dict[int, list[bool]] = {}
    matches = fp = misses = switches = 0
    iou_sum = 0.0
    num_gt = num_pred = 0
    gt_ids_all: set[int] = set()
    pred_ids_all: set[int] = set()
    # For IDF1: the number of frames in which each (gt, hypothesis) pair overlaps enough.
    overlap_counts: dict[tuple[int, int], int] = {}

    for frame in frames:
        g_ids, g_boxes = _empty(ground_truth.get(frame))
        h_ids, h_boxes = _empty(predicted.get(frame))
        num_gt += len(g_ids)
        num_pred += len(h_ids)
        gt_ids_all.update(g_ids)
        pred_ids_all.update(h_ids)
        iou = iou_matrix(g_boxes, h_boxes)
        valid = iou >= iou_threshold
        for gi, hi in zip(*np.nonzero(valid)):
            key = (g_ids[gi], h_ids[hi])
            overlap_counts[key] = overlap_counts.get(key, 0) + 1

        # CLEAR MOT: keep last frame's correspondences that still overlap, then match the rest optimally.
        pairs: dict[int, int] = {}  # gt row -> hyp column
        for gi, g in enumerate(g_ids):
            h = current.get(g)
            if h is not None and h in h_ids:
                hi = h_ids.index(h)
                if valid[gi, hi] and hi not in pairs.values():
                    pairs[gi] = hi
        free_g = [gi for gi in range(len(g_ids)) if gi not in pairs]
        free_h = [hi for hi in range(len(h_ids)) if hi not in pairs.values()]
        if free_g and free_h:
            sub = iou[np.ix_(free_g, free_h)]
            cost = np.where(sub >= iou_threshold, 1.0 - sub, 1e6)
            for r, c in zip(*linear_sum_assignment(cost)):
                if sub[r, c] >= iou_threshold:
                    pairs[free_g[r]] = free_h[c]
        current = {}
        for gi, hi in pairs.items():
            g, h = g_ids[gi], h_ids[hi]
            if g in last_match and last_match[g] != h:
                switches += 1
            last_match[g] = h
            current[g] = h
            iou_sum += float(iou[gi, hi])
        matches += len(pairs)
        misses += len(g_ids) - len(pairs)
        fp += len(h_ids) - len(pairs)
        for gi, g in enumerate(g_ids):
            tracked_history.setdefault(g, []).append(gi in pairs)

    fragmentations = 0
    for history in tracked_history.values():
        # An interruption: tracked, then not, then tracked again.
        was_tracked = False
        interrupted = False
        for tracked in history:
            if tracked and interrupted:
                fragmentations += 1
                interrupted = False
            if tracked:
                was_tracked = True
            elif was_tracked:
                interrupted = True

    # IDF1: the one-to-one matching of identities that maximises the boxes they share.
    gt_list, pred_list = sorted(gt_ids_all), sorted(pred_ids_all)
    idtp = 0
    if gt_list and pred_list:
        shared = np.zeros((len(gt_list), len(pred_list)))
        g_index = {g: i for i, g in enumerate(gt_list)}
        p_index = {h: i for i, h in enumerate(pred_list)}
        for (g, h), n in overlap_counts.items():
            shared[g_index[g], p_index[h]] = n
        rows, cols = linear_sum_assignment(-shared)
        idtp = int(shared[rows, cols].sum())
    idf1 = 2 * idtp / (num_gt + num_pred) if num_gt + num_pred else 1.0
    return TrackingScores(
        num_frames=len(frames),
        num_gt=num_gt,
        num_predictions=num_pred,
        num_gt_tracks=len(gt_list),
        num_predicted_tracks=len(pred_list),
        matches=matches,
        false_positives=fp,
        misses=misses,
        id_switches=switches,
        fragmentations=fragmentations,
        mota=1.0 - (misses + fp + switches) / num_gt if num_gt else 1.0,
        motp=iou_sum / matches if matches else 0.0,
        idf1=idf1,
        idp=idtp / num_pred if num_pred else 1.0,
        idr=idtp / num_gt if num_gt else 1.0,
    )
