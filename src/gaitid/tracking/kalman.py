"""A constant-velocity Kalman filter over person boxes.

The state is (cx, cy, w, h, vcx, vcy, vw, vh): the box centre and size and their velocities in pixels per
frame. Noise is scaled by the box height, so near (tall) and far (short) people are treated alike.
"""

from __future__ import annotations

import numpy as np

# Standard deviations as fractions of the box height: of a measured position, of a change of position per
# frame, and of a change of velocity per frame.
_MEASURE_STD = 0.05
_POSITION_STD = 0.05
_VELOCITY_STD = 0.00625


def xyxy_to_cxcywh(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)])


def cxcywh_to_xyxy(state: np.ndarray) -> np.ndarray:
    cx, cy, w, h = state[:4]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


class BoxKalman:
    """The filter for one track. `predict(steps)` moves it forward by that many frames (steps may be more
    than one when frames were dropped); `update(box)` corrects it with a measured (x1, y1, x2, y2) box."""

    def __init__(self, box: np.ndarray) -> None:
        z = xyxy_to_cxcywh(box)
        self.mean = np.concatenate([z, np.zeros(4)])
        h = z[3]
        std = np.array([2 * _MEASURE_STD * h] * 4 + [10 * _VELOCITY_STD * h] * 4)
        self.covariance = np.diag(std**2)

    @property
    def box(self) -> np.ndarray:
        """The current estimate as (x1, y1, x2, y2) float32."""
        return cxcywh_to_xyxy(self.mean)

    def predict(self, steps: float = 1.0) -> None:
        if steps <= 0:
            return
        transition = np.eye(8)
        transition[:4, 4:] = np.eye(4) * steps
        h = max(self.mean[3], 1.0)
        q = np.array([_POSITION_STD * h] * 4 + [_VELOCITY_STD * h] * 4) ** 2 * steps
        self.mean = transition @ self.mean
        self.mean[2:4] = np.maximum(self.mean[2:4], 1.0)
        self.covariance = transition @ self.covariance @ transition.T + np.diag(q)

    def update(self, box: np.ndarray) -> None:
        z = xyxy_to_cxcywh(box)
        h = max(self.mean[3], 1.0)
        r = np.diag(np.full(4, (_MEASURE_STD * h) ** 2))
        projected = self.covariance[:4, :4] + r
        gain = np.linalg.solve(projected, self.covariance[:4, :]).T  # (8, 4): P H^T S^-1, S symmetric
        self.mean = self.mean + gain @ (z - self.mean[:4])
        self.covariance = self.covariance - gain @ self.covariance[:4, :]
