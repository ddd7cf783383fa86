"""What a gait model takes as input, shared by training and inference (no torch here).

The spec defines the preprocessing: every frame is normalised to `height` x `width` by
`gaitid.gait.normalize`, and the channels are stacked in the order of `channels`.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_CHANNELS = ("silhouette",)


@dataclass(frozen=True)
class InputSpec:
    """channels: names of the per-frame input maps, in order (only "silhouette" today; skeleton heatmaps
    will be added). height, width: size of each normalised map."""

    channels_names: tuple[str, ...] = ("silhouette",)
    height: int = 64
    width: int = 44

    def __post_init__(self) -> None:
        unknown = [c for c in self.channels_names if c not in KNOWN_CHANNELS]
        if unknown or not self.channels_names:
            raise ValueError(f"unknown input channel(s) {unknown}; known: {list(KNOWN_CHANNELS)}")

    @property
    def channels(self) -> int:
        return len(self.channels_names)
