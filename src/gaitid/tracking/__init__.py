"""Multi-person tracking: linking the people of successive frames into tracks.

`Tracker.update(people) -> people` (with `track_id` set) and `reset()` per video; `TrackCollector` gathers
the result into `Track`s; `metrics` scores tracks against ground truth (CLEAR MOT and IDF1).
"""

from gaitid.tracking.tracker import Tracker, TrackerConfig, iou_matrix
from gaitid.tracking.tracks import TrackCollector, tracks_to_json

__all__ = ["TrackCollector", "Tracker", "TrackerConfig", "iou_matrix", "tracks_to_json"]
