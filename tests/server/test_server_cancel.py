"""Cancelling under load: identification jobs submitted by several clients and cancelled at random moments
(while queued, just started, midway, or never), on a real loopback server. The server keeps answering, every
job ends done or cancelled, and nothing is left in its work folders: no upload, no partial video.

(Cancelling a running job once crashed the server: the read-ahead thread was still decoding when the file
was closed under it; pipeline.run_stream now stops it on every way out.)
benchmarks/server_cancel.py runs the same with more jobs and prints the figures.
"""

from __future__ import annotations

from server_helpers import settings_for

from cancel_load import run_cancel_load

JOBS = 50
SEED = 16


def test_jobs_cancelled_at_random_moments_leave_nothing_behind(loopback_server, make_gallery, tmp_path):
    server = loopback_server(settings_for(make_gallery("walker", "jumper"), tmp_path))
    report = run_cancel_load(server.url, server.service.work_dir, tmp_path, jobs=JOBS, seed=SEED)
    print("\n" + report.summary())
    assert report.health_failures == 0, report.summary()
    assert set(report.final) <= {"done", "cancelled"}, report.final
    assert sum(report.final.values()) == JOBS
    for moment in ("queued", "running, no frame done", "running, midway"):  # the dangerous moments were tried
        assert report.cancelled_while[moment] >= 5, report.summary()
    assert report.leftovers == [], report.leftovers
    server.stop()
    assert [p for p in server.service.work_dir.rglob("*") if p.is_file()] == []
