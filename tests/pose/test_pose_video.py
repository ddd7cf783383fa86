"""HumanPoseNN over the shipped sample clip with the library's defaults, as the README's first snippet runs it."""

from gaitid.pose.estimator import HumanPoseNN
from gaitid.samples import WALK_VIDEO
from gaitid.sources.files import VideoFile


def test_defaults_find_the_two_walkers_and_no_one_else() -> None:
    """The clip holds two people throughout: the woman walking and the man on the box. BlazePose's close-up
    detector, run on video frames, added a phantom over the sky in frame 0 and the woman a second time in
    frames 108-111; by default it runs on still images only, so the library agrees with `gaitid pose`."""
    estimator = HumanPoseNN(model="full")
    counts = []
    with VideoFile(WALK_VIDEO) as video:
        for frame in video:
            counts.append(len(estimator.estimate(frame).people))
            if frame.index == 115:
                break
    assert counts[0] == 2
    assert max(counts) == 2, [i for i, n in enumerate(counts) if n > 2]
