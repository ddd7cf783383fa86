"""Sample media shipped with the package (see README.md here for where it comes from and its licence)."""

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
WALK_VIDEO = SAMPLES_DIR / "walk.mp4"
