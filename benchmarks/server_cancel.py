"""Cancel under load: identification jobs cancelled at random moments on a running server, for several seeds.

    PYTHONPATH=src python benchmarks/server_cancel.py [--jobs 50] [--seeds 16 17 18] [--clients 4] [--frames 30]

The same driver as tests/server/test_server_cancel.py (tests/server/cancel_load.py): a server on a loopback
port (uvicorn on a thread of this process) with the sample clip's two people enrolled; `--clients` clients
submit `--jobs` small identifications (`--frames` frames of the clip at 320 px) and cancel each at a moment
drawn from the seeded RNG (at once, when it starts, midway, never) while a client polls /api/health. Per
seed it prints how the jobs ended, what they were doing when the cancel arrived, the health checks' latency
and the files left in the work folder (there should be none but the videos of finished jobs); it exits 1
if a job ended otherwise than done or cancelled, a health check failed, or a file was left.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "server"), str(ROOT / "tests")]

from cancel_load import run_cancel_load  # noqa: E402
from server_helpers import JUMPER_TRACK, WALKER_TRACK, LoopbackServer, settings_for  # noqa: E402


def enrolled_gallery(path: Path) -> Path:
    """The sample clip's two people enrolled from frames 0:80 (as the server tests' gallery)."""
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.gallery import Gallery
    from gaitid.pipeline import PipelineOptions, analyse
    from gaitid.pipeline.walkers import Walkers
    from gaitid.samples import WALK_VIDEO

    options = PipelineOptions(frames=(0, 80), progress=False)
    encoder = GaitEncoder()
    states = analyse(str(WALK_VIDEO), Walkers(encoder, None, options.window), options).walkers.states
    with Gallery.open(path) as gallery:
        for name, track in (("walker", WALKER_TRACK), ("jumper", JUMPER_TRACK)):
            gallery.enroll(name, states[track].embeddings(encoder.model, options.window.size), source="walk.mp4")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seeds", type=int, nargs="+", default=[16, 17, 18])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="gaitid-cancel-") as folder:
        gallery = enrolled_gallery(Path(folder) / "gallery.db")
        for seed in args.seeds:
            scratch = Path(folder) / f"seed-{seed}"
            scratch.mkdir()
            server = LoopbackServer(settings_for(gallery, scratch)).start()
            try:
                report = run_cancel_load(
                    server.url, server.service.work_dir, scratch, args.jobs, seed, args.clients, args.frames
                )
            finally:
                server.stop()
            left = [p for p in server.service.work_dir.rglob("*") if p.is_file()]
            print(f"seed {seed}: {report.summary()}; files after shutdown {len(left)}")
            ended_well = set(report.final) <= {"done", "cancelled"}
            bad += not ended_well or report.health_failures > 0 or bool(report.leftovers) or bool(left)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
