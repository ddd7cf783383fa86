"""HumanPoseNN: multi-person 2-D pose estimation (detector, BlazePose landmarks, heatmaps, silhouettes)."""

from gaitid.pose.estimator import HumanPoseNN

__all__ = ["HumanPoseNN"]
