"""Identification of walkers in video: per-track windows and evidence (walkers.py) and the commands that
run the whole pipeline, identify, enroll and live (app.py)."""

from gaitid.identify.walkers import Answer, WalkerEvent, Walkers, WalkerState, WindowSpec

__all__ = ["Answer", "WalkerEvent", "WalkerState", "Walkers", "WindowSpec"]
