"""The commands that run the whole pipeline (track, identify, enroll, live, demo, cohort add): app.py.
The pipeline itself, to drive from Python, is gaitid.pipeline."""
