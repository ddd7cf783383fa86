"""The cohort: vectors of people who are never enrolled, against which every score is normalised.

A model's cohort ships beside its weights (`<weights>.cohort.npz`, made by `python -m gaitid.training.cohort`
from CASIA-B training subjects 001-074 only) and names the model and the SHA-256 of the weights that made
it: a cohort of other weights is refused, so a retrained model cannot silently keep an old cohort.

A site can add its own strangers (walkers of local footage who will not be enrolled: `gaitid gallery cohort
add VIDEO`); those vectors are kept in the gallery and joined to the shipped ones (`Cohort.extended`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaitid.gallery.errors import GalleryError

_FORMAT = 1
SHIPPED_WEIGHTS = Path(__file__).resolve().parents[1] / "gait" / "weights"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cohort_path(weights: Path) -> Path:
    """Where the cohort of the weights file `weights` lives: beside it, `NAME.cohort.npz`."""
    return weights.with_name(weights.stem + ".cohort.npz")


@dataclass(frozen=True)
class ProbeStats:
    """The calibration probes' own statistics against this cohort (`CohortNorm.calibration_probe_stats`
    for `top` and `max_probes`), computed once when the cohort file is made: they depend on the cohort
    alone, and computing them was half of a gallery's first decision."""

    top: float
    max_probes: int
    mu: np.ndarray
    sd: np.ndarray


def _probe_stats_arrays(stats: ProbeStats) -> dict[str, object]:
    """How ProbeStats are kept in a cohort file (read back by Cohort.load)."""
    return {"probe_stats_top": stats.top, "probe_stats_max_probes": stats.max_probes,
            "probe_stats_mu": stats.mu, "probe_stats_sd": stats.sd}


@dataclass(frozen=True)
class Cohort:
    """vectors: (n, d) float32, L2-normalised; labels: (n,) who each vector belongs to (a cohort person has
    several vectors); model: the Embedding.model that made them; weights_sha256: of the weights file;
    probe_stats: stored with a shipped cohort (None for any other, an extended one included)."""

    vectors: np.ndarray
    labels: np.ndarray
    model: str
    weights_sha256: str = ""
    probe_stats: ProbeStats | None = None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.labels.shape != (len(self.vectors),):
            raise GalleryError(
                f"a cohort needs (n, d) vectors and n labels, got {self.vectors.shape} and {self.labels.shape}"
            )

    @staticmethod
    def from_vectors(vectors: np.ndarray, labels: np.ndarray, model: str, weights_sha256: str = "") -> Cohort:
        v = np.asarray(vectors, np.float32)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return Cohort(v, np.asarray(labels).astype(str), model, weights_sha256)

    @property
    def people(self) -> int:
        return len(np.unique(self.labels))

    def save(self, path: Path) -> None:
        """Write as int8 with a per-vector scale (the cosine changes by less than 0.002)."""
        scale = np.abs(self.vectors).max(axis=1, keepdims=True) / 127.0
        q = np.round(self.vectors / np.maximum(scale, 1e-12)).astype(np.int8)
        path.parent.mkdir(parents=True, exist_ok=True)
        stats = _probe_stats_arrays(self.probe_stats) if self.probe_stats is not None else {}
        with open(path, "wb") as f:
            np.savez_compressed(
                f, format=_FORMAT, q=q, scale=scale.astype(np.float32), labels=self.labels,
                model=self.model, weights_sha256=self.weights_sha256, **stats,
            )

    @staticmethod
    def store_probe_stats(path: Path, stats: ProbeStats) -> None:
        """Add (or replace) the probe statistics in a cohort file, its vectors left bit for bit as they are
        (saving a loaded cohort again would quantise its vectors a second time)."""
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if not k.startswith("probe_stats_")}
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays, **_probe_stats_arrays(stats))
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> Cohort:
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format"]) != _FORMAT:
                    raise GalleryError(f"{path}: cohort format {int(z['format'])} is not supported")
                vectors = z["q"].astype(np.float32) * z["scale"]
                cohort = Cohort.from_vectors(vectors, z["labels"], str(z["model"]), str(z["weights_sha256"]))
                if "probe_stats_mu" not in z.files:
                    return cohort
                stats = ProbeStats(float(z["probe_stats_top"]), int(z["probe_stats_max_probes"]),
                                   z["probe_stats_mu"].astype(np.float32), z["probe_stats_sd"].astype(np.float32))
                return dataclasses.replace(cohort, probe_stats=stats)
        except (OSError, KeyError, ValueError) as error:
            raise GalleryError(f"{path}: not a readable cohort file ({error})") from None

    def extended(self, vectors: np.ndarray, labels: np.ndarray) -> Cohort:
        """This cohort with more people (a site's own strangers) added."""
        if not len(vectors):
            return self
        extra = Cohort.from_vectors(vectors, labels, self.model)
        return Cohort(
            np.concatenate([self.vectors, extra.vectors]),
            np.concatenate([self.labels, extra.labels]),
            self.model,
            self.weights_sha256,
        )


@functools.lru_cache(maxsize=8)
def shipped_cohort(model: str, folder: Path = SHIPPED_WEIGHTS) -> Cohort | None:
    """The cohort shipped for `model` (an Embedding.model such as "gaitset_strips_s/4"), or None when the
    package ships none for it. A shipped cohort made by other weights than those shipped is an error."""
    for path in sorted(folder.glob("**/*.cohort.npz")):
        cohort = Cohort.load(path)
        if cohort.model == model:
            weights = path.with_name(path.name.removesuffix(".cohort.npz") + ".onnx")
            if weights.is_file() and cohort.weights_sha256 != file_sha256(weights):
                raise GalleryError(
                    f"{path} was made by other weights than {weights.name}: remake it with "
                    "python -m gaitid.training.cohort"
                )
            return cohort
    return None
