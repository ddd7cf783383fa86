"""Losses for gait metric learning, computed per horizontal part as the GaitSet family does."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def triplet_loss(parts: torch.Tensor, labels: torch.Tensor, margin: float) -> tuple[torch.Tensor, float]:
    """Batch-all triplet loss per part, averaged over the triplets that still violate the margin.

    parts: (N, P, d) embeddings; labels: (N,) identities. Returns the loss and the fraction of active
    triplets (a training signal worth logging: it falls as the embedding learns).
    """
    x = parts.permute(1, 0, 2)  # (P, N, d)
    sq = (x * x).sum(-1)
    dist = (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * x @ x.transpose(1, 2)).clamp_min(1e-12).sqrt()
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye  # (N, N) anchor-positive
    neg = ~same
    # (P, N, N, N): d(a, p) - d(a, n) + margin for valid (a, p, n)
    viol = dist.unsqueeze(3) - dist.unsqueeze(2) + margin
    valid = (pos.unsqueeze(2) & neg.unsqueeze(1)).unsqueeze(0).expand_as(viol)
    losses = F.relu(viol[valid])
    active = (losses > 0).sum()
    loss = losses.sum() / active.clamp_min(1)
    return loss, float(active) / max(losses.numel(), 1)


def part_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """Cross-entropy of every part's classifier: logits (N, P, classes), labels (N,)."""
    n, p, c = logits.shape
    return F.cross_entropy(logits.reshape(n * p, c), labels.repeat_interleave(p), label_smoothing=label_smoothing)
