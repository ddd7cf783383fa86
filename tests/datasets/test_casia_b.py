import os
import pickle

import numpy as np
import pytest

from gaitid.errors import GaitidError
from gaitid.datasets.casia_b import (
    CASIA_B_TEST_SUBJECTS,
    load_casia_b,
    load_pickle_array,
    pack_silhouettes,
)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_malicious_pickle_does_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(GaitidError, match="not a safe numpy pickle"):
        load_pickle_array(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_pickle_of_other_objects_refused(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(GaitidError, match="expected a numpy array"):
        load_pickle_array(path)


def test_numpy_pickle_loads(tmp_path):
    arr = (np.random.default_rng(0).random((5, 64, 64)) * 255).astype(np.uint8)
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps(arr))
    assert np.array_equal(load_pickle_array(path), arr)


def _write_opengait(root, subject, arrays):
    for (cond, view), arr in arrays.items():
        d = root / f"{subject:03d}" / cond / view
        d.mkdir(parents=True)
        (d / f"{view}.pkl").write_bytes(pickle.dumps(arr))


def test_opengait_layout(tmp_path):
    rng = np.random.default_rng(1)
    sils = {("nm-01", "000"): (rng.random((7, 64, 64)) > 0.5).astype(np.uint8) * 255,
            ("cl-02", "090"): (rng.random((3, 64, 64)) > 0.5).astype(np.uint8) * 255}
    _write_opengait(tmp_path, 2, sils)
    data = load_casia_b([2], "train", tmp_path)
    assert len(data) == 2 and data.subjects == (2,)
    by_key = {(k.condition, k.view): i for i, k in enumerate(data.keys)}
    i = by_key[("nm-01", "000")]
    assert np.array_equal(data.frames(i), (sils[("nm-01", "000")] >= 128)[:, :, 10:54])


def test_pack_silhouettes_dtypes():
    rng = np.random.default_rng(2)
    binary = rng.random((2, 64, 64)) > 0.5
    ref = np.packbits(binary, axis=-1)
    assert np.array_equal(pack_silhouettes(binary.astype(np.uint8) * 255), ref)
    assert np.array_equal(pack_silhouettes(binary.astype(np.uint8)), ref)
    assert np.array_equal(pack_silhouettes(binary.astype(np.float32)), ref)
    with pytest.raises(GaitidError):
        pack_silhouettes(np.zeros((2, 64, 44)))


@pytest.mark.parametrize("subjects", [[75], [1, 2, 124], range(70, 80)])
def test_training_refuses_test_subjects(subjects, tmp_path):
    with pytest.raises(GaitidError, match="never used for training"):
        load_casia_b(subjects, "train", tmp_path)


def test_real_casia_b(casia_root):
    data = load_casia_b([1], "train", casia_root, conditions=["nm-01"], views=["090", "000"])
    assert len(data) == 2
    f = data.frames(0, np.array([0, 1]))
    assert f.shape == (2, 64, 44) and f.dtype == np.uint8 and f.max() == 1
    test = load_casia_b([CASIA_B_TEST_SUBJECTS[0]], "test", casia_root, conditions=["nm-05"])
    assert test.subjects == (75,) and len(test) > 0
