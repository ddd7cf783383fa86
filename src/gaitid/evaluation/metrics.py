"""Identification metrics as pure functions of distances and labels (no datasets, no models)."""

from __future__ import annotations

import numpy as np


def euclidean_distances(probe: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(n, d) and (m, d) vectors -> (n, m) Euclidean distances."""
    probe = np.asarray(probe, np.float64)
    gallery = np.asarray(gallery, np.float64)
    sq = (probe**2).sum(1)[:, None] + (gallery**2).sum(1)[None, :] - 2.0 * probe @ gallery.T
    return np.sqrt(np.maximum(sq, 0.0))


def rank_k_accuracy(dist: np.ndarray, probe_labels: np.ndarray, gallery_labels: np.ndarray, k: int = 1) -> float:
    """Fraction of probes whose true label is among the labels of their k nearest gallery entries.

    dist: (n_probe, n_gallery). Ties are broken by gallery order (stable sort).
    """
    dist = np.asarray(dist)
    probe_labels, gallery_labels = np.asarray(probe_labels), np.asarray(gallery_labels)
    if dist.shape != (len(probe_labels), len(gallery_labels)):
        raise ValueError(f"dist has shape {dist.shape}, expected ({len(probe_labels)}, {len(gallery_labels)})")
    if len(probe_labels) == 0:
        return float("nan")
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    hits = (gallery_labels[order] == probe_labels[:, None]).any(axis=1)
    return float(hits.mean())


def cross_view_rank1(
    dist: np.ndarray,
    probe_labels: np.ndarray,
    probe_views: np.ndarray,
    gallery_labels: np.ndarray,
    gallery_views: np.ndarray,
    views: tuple[str, ...],
    exclude_identical_views: bool = True,
) -> np.ndarray:
    """Rank-1 for every (probe view, gallery view) pair: (V, V) array, rows probe views, columns gallery
    views; NaN on the diagonal when identical views are excluded, or where a view has no sequences."""
    probe_views, gallery_views = np.asarray(probe_views), np.asarray(gallery_views)
    table = np.full((len(views), len(views)), np.nan)
    for i, pv in enumerate(views):
        p = probe_views == pv
        for j, gv in enumerate(views):
            if exclude_identical_views and i == j:
                continue
            g = gallery_views == gv
            if p.any() and g.any():
                table[i, j] = rank_k_accuracy(dist[np.ix_(p, g)], probe_labels[p], gallery_labels[g], 1)
    return table


def mean_over_gallery_views(table: np.ndarray) -> np.ndarray:
    """(V, V) cross-view table -> (V,) mean rank-1 per probe view over the gallery views (NaNs skipped)."""
    return np.nanmean(table, axis=1)
