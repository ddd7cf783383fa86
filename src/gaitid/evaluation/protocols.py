"""Evaluation protocols as data: which subjects, which sequences are gallery and probes, which views."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gaitid.datasets.casia_b import (
    CASIA_B_TEST_SUBJECTS,
    CASIA_B_VALIDATION_24_SUBJECTS,
    CASIA_B_VALIDATION_SUBJECTS,
    CASIA_B_VIEWS,
)


@dataclass(frozen=True)
class CrossViewProtocol:
    """name: as reported. subjects: the test subjects. gallery: conditions enrolled.
    probes: probe-set name -> its conditions. views: the camera views, in table order."""

    name: str
    subjects: tuple[int, ...]
    gallery: tuple[str, ...]
    probes: dict[str, tuple[str, ...]]
    views: tuple[str, ...]
    exclude_identical_views: bool = True


#: The standard CASIA-B protocol that every paper reports (train 001-074, test 075-124).
CASIA_B = CrossViewProtocol(
    name="casia-b",
    subjects=CASIA_B_TEST_SUBJECTS,
    gallery=("nm-01", "nm-02", "nm-03", "nm-04"),
    probes={"NM": ("nm-05", "nm-06"), "BG": ("bg-01", "bg-02"), "CL": ("cl-01", "cl-02")},
    views=CASIA_B_VIEWS,
)

#: The same on the validation subjects (001-012), for choices made before the test subjects are scored.
CASIA_B_VALIDATION = replace(CASIA_B, name="casia-b-val", subjects=CASIA_B_VALIDATION_SUBJECTS)

#: The validation subjects with one gallery walk a view (nm-01) instead of four: further from its ceiling,
#: so that arms which casia-b-val scores alike can be told apart (benchmarks/GAIT_RESULTS.md).
CASIA_B_VALIDATION_ONE = replace(CASIA_B_VALIDATION, name="casia-b-val-1", gallery=("nm-01",))

#: Twice the validation people (001-024, for models trained on 025-074): more gallery people to confuse a
#: probe with and twice the probes, so that levers the 12 people score alike can be told apart.
CASIA_B_VALIDATION_24 = replace(CASIA_B, name="casia-b-val24", subjects=CASIA_B_VALIDATION_24_SUBJECTS)

PROTOCOLS = {
    "casia-b": CASIA_B,
    "casia-b-val": CASIA_B_VALIDATION,
    "casia-b-val-1": CASIA_B_VALIDATION_ONE,
    "casia-b-val24": CASIA_B_VALIDATION_24,
}
