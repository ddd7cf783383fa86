"""gaitid: identify people in video by the way they walk."""

__version__ = "0.1.0"
