"""The gallery: enrolled people, their identification vectors, and open-set identification.

`Gallery` is the entry point (gaitid.gallery.gallery); `GalleryStore` the SQLite file beneath it.
"""

from gaitid.gallery.calibration import ScoreCalibration
from gaitid.gallery.classifiers import CosineNN, LinearSVM
from gaitid.gallery.errors import (
    EmptyGalleryError,
    GalleryError,
    GalleryKeyError,
    ModelMismatchError,
    NotAGalleryError,
    UnknownPersonError,
)
from gaitid.gallery.gallery import CohortSource, Gallery
from gaitid.gallery.store import GalleryStore, NewVector, PersonRecord, default_gallery_path

__all__ = [
    "CohortSource",
    "CosineNN",
    "EmptyGalleryError",
    "Gallery",
    "GalleryError",
    "GalleryKeyError",
    "GalleryStore",
    "LinearSVM",
    "ModelMismatchError",
    "NewVector",
    "NotAGalleryError",
    "PersonRecord",
    "ScoreCalibration",
    "UnknownPersonError",
    "default_gallery_path",
]
