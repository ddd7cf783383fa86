import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.training.sampler import PKSampler, sample_frames


def test_pk_batches():
    labels = np.repeat(np.arange(10), [5, 5, 5, 5, 5, 5, 5, 5, 5, 2])
    sampler = PKSampler(labels, p=4, k=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = sampler.sample(rng)
        assert idx.shape == (12,)
        groups = labels[idx].reshape(4, 3)
        assert (groups == groups[:, :1]).all()  # K of each identity, grouped
        assert len(set(groups[:, 0])) == 4  # P distinct identities


def test_pk_reproducible():
    labels = np.repeat(np.arange(6), 4)
    a = PKSampler(labels, 3, 2).sample(np.random.default_rng(5))
    b = PKSampler(labels, 3, 2).sample(np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_pk_too_many_identities():
    with pytest.raises(GaitidError, match="holds only 3"):
        PKSampler(np.arange(3), p=4, k=1)
    with pytest.raises(GaitidError, match="positive"):
        PKSampler(np.arange(3), p=2, k=0)


@pytest.mark.parametrize("num_frames, n", [(50, 10), (5, 10), (10, 10), (1, 3)])
def test_sample_frames(num_frames, n):
    rng = np.random.default_rng(0)
    r = sample_frames(num_frames, n, "random", rng)
    assert len(r) == n and r.min() >= 0 and r.max() < num_frames and (np.diff(r) >= 0).all()
    if num_frames >= n:
        assert len(set(r)) == n
    c = sample_frames(num_frames, n, "contiguous", rng)
    assert len(c) == n and c.max() < num_frames
    if num_frames >= n:
        assert (np.diff(c) == 1).all()


def test_contiguous_frames_every_step_th():
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = sample_frames(50, 10, "contiguous", rng, step=2)
        assert (np.diff(c) == 2).all() and c.min() >= 0 and c.max() < 50
    short = sample_frames(12, 10, "contiguous", rng, step=2)  # a span of 19 frames loops round 12
    assert len(short) == 10 and short.max() < 12


def test_sample_frames_bad_mode():
    with pytest.raises(ValueError):
        sample_frames(5, 2, "shuffled", np.random.default_rng(0))
