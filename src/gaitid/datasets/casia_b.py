"""Gait datasets: CASIA-B (the npz files in ../shared/data/casia-b, or OpenGait's pickle layout), held in
memory as packed bits, with the standard split enforced in code.

A sequence is one walk of one subject under one condition from one view, stored as
`np.packbits(silhouette >= 128, axis=-1)` of shape (T, 64, 8) for 64 x 64 frames. `frames()` unpacks
chosen frames and cuts them to the model's 64 x 44 (the middle 44 columns, as OpenGait does).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitid.datasets.paths import data_root
from gaitid.errors import GaitidError

#: Subjects that the standard CASIA-B protocol tests on. Never train or tune on them.
CASIA_B_TEST_SUBJECTS = tuple(range(75, 125))
#: Subjects that the standard protocol trains on.
CASIA_B_TRAIN_SUBJECTS = tuple(range(1, 75))
#: Training subjects held out to choose designs and checkpoints (the protocol "casia-b-val"): a model being
#: compared is trained on 013-074 only; the one shipped after the choice may train on all 001-074. They
#: include 001-009, whose RGB walks are in casia-b-rgb, so the pipeline's silhouettes of them are unseen too.
CASIA_B_VALIDATION_SUBJECTS = tuple(range(1, 13))
#: Twice as many held out (the protocol "casia-b-val24", for models trained on 025-074): with 24 people the
#: statistic sits further from its ceiling than with 12 (benchmarks/GAIT_RESULTS.md).
CASIA_B_VALIDATION_24_SUBJECTS = tuple(range(1, 25))
CASIA_B_CONDITIONS = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02")
CASIA_B_VIEWS = tuple(f"{v:03d}" for v in range(0, 181, 18))

_CUT = (10, 54)  # columns of the 64-wide frame that make the 44-wide model input


@dataclass(frozen=True)
class SequenceKey:
    subject: int
    condition: str  # e.g. "nm-05"
    view: str  # e.g. "090"

    @property
    def condition_type(self) -> str:
        return self.condition[:2]


class GaitSequences:
    """A set of silhouette sequences held in memory as packed bits.

    keys[i] names sequence i; packed[i] is its (T, 64, 8) uint8 packed silhouette.
    """

    def __init__(self, keys: Sequence[SequenceKey], packed: Sequence[np.ndarray]) -> None:
        if len(keys) != len(packed):
            raise ValueError("GaitSequences: keys and packed must have the same length")
        self.keys = tuple(keys)
        self.packed = tuple(packed)
        subjects = sorted({k.subject for k in self.keys})
        self.subjects = tuple(subjects)
        index = {s: i for i, s in enumerate(subjects)}
        self.labels = np.array([index[k.subject] for k in self.keys], np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def num_frames(self, i: int) -> int:
        return int(self.packed[i].shape[0])

    def frames(self, i: int, indices: np.ndarray | None = None) -> np.ndarray:
        """Frames of sequence i (all, or those at `indices`) as (n, 64, 44) uint8 of 0/1."""
        packed = self.packed[i] if indices is None else self.packed[i][indices]
        return np.unpackbits(packed, axis=-1)[:, :, _CUT[0] : _CUT[1]]

    def subset(self, keep: Iterable[int]) -> GaitSequences:
        idx = list(keep)
        return GaitSequences([self.keys[i] for i in idx], [self.packed[i] for i in idx])


def _parse_key(subject: int, key: str) -> SequenceKey:
    cond, view = key.rsplit("_", 1)
    return SequenceKey(subject, cond, view)


def _check_subjects(subjects: Iterable[int], purpose: str) -> list[int]:
    subjects = sorted(set(int(s) for s in subjects))
    if purpose == "train":
        forbidden = [s for s in subjects if s in CASIA_B_TEST_SUBJECTS]
        if forbidden:
            raise GaitidError(
                f"CASIA-B subjects {forbidden[0]:03d}..{forbidden[-1]:03d} are the test set of the standard "
                "protocol and are never used for training"
            )
    elif purpose != "test":
        raise ValueError(f"purpose must be 'train' or 'test', got {purpose!r}")
    return subjects


def load_casia_b(
    subjects: Iterable[int],
    purpose: str,
    root: Path | str | None = None,
    conditions: Sequence[str] | None = None,
    views: Sequence[str] | None = None,
) -> GaitSequences:
    """Read CASIA-B subjects from `root` (default data_root()/casia-b) into memory.

    purpose: "train" refuses the test subjects 075-124; "test" reads any.
    The folder may hold the npz files (`SSS.npz`) or OpenGait's pickle layout (`SSS/COND/VIEW/*.pkl`).
    """
    subjects = _check_subjects(subjects, purpose)
    root = Path(root) if root is not None else data_root() / "casia-b"
    if not root.is_dir():
        raise GaitidError(f"CASIA-B folder not found: {root} (set GAITID_DATA)")
    keys: list[SequenceKey] = []
    packed: list[np.ndarray] = []
    for s in subjects:
        npz = root / f"{s:03d}.npz"
        if npz.is_file():
            with np.load(npz, allow_pickle=False) as data:
                items = [(_parse_key(s, k), data[k]) for k in sorted(data.files)]
        elif (root / f"{s:03d}").is_dir():
            items = list(_read_opengait_subject(root / f"{s:03d}", s))
        else:
            raise GaitidError(f"CASIA-B subject {s:03d} not found in {root}")
        for key, arr in items:
            if conditions is not None and key.condition not in conditions:
                continue
            if views is not None and key.view not in views:
                continue
            if arr.ndim != 3 or arr.shape[1:] != (64, 8) or arr.dtype != np.uint8 or arr.shape[0] == 0:
                raise GaitidError(f"CASIA-B {s:03d} {key.condition}_{key.view}: unexpected array {arr.shape}")
            keys.append(key)
            packed.append(arr)
    return GaitSequences(keys, packed)


# ----------------------------------------------------------------------------------- OpenGait pickles


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and nothing else: any other global is refused, so a
    malicious pickle cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle (only numpy arrays)")


def load_pickle_array(path: Path | str) -> np.ndarray:
    """Read one OpenGait `.pkl` (a numpy array) safely; anything but a numpy array is an error."""
    try:
        with open(path, "rb") as f:
            obj = _NumpyOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
        raise GaitidError(f"{path}: not a safe numpy pickle ({error})") from None
    if not isinstance(obj, np.ndarray):
        raise GaitidError(f"{path}: expected a numpy array, got {type(obj).__name__}")
    return obj


def pack_silhouettes(sils: np.ndarray) -> np.ndarray:
    """(T, 64, 64) silhouettes (uint8 0..255, or 0/1, or float [0, 1]) -> packed bits (T, 64, 8)."""
    sils = np.asarray(sils)
    if sils.ndim != 3 or sils.shape[1:] != (64, 64):
        raise GaitidError(f"expected silhouettes of shape (T, 64, 64), got {sils.shape}")
    threshold = 128 if sils.dtype == np.uint8 and sils.max(initial=0) > 1 else 0.5
    return np.packbits(sils >= threshold, axis=-1)


def _read_opengait_subject(folder: Path, subject: int) -> Iterable[tuple[SequenceKey, np.ndarray]]:
    for cond_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for view_dir in sorted(p for p in cond_dir.iterdir() if p.is_dir()):
            pkls = sorted(view_dir.glob("*.pkl"))
            if not pkls:
                continue
            yield SequenceKey(subject, cond_dir.name, view_dir.name), pack_silhouettes(load_pickle_array(pkls[0]))
