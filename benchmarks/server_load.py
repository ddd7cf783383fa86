"""Load on `gaitid serve`: concurrent identification requests for a while, with an enrolment running among them.

    python benchmarks/server_load.py [--clients 8] [--seconds 60] [--json benchmarks/results/server_load.json]

Starts `gaitid serve` as its own process on a free loopback port, with a new gallery in a temporary folder,
and enrols the sample clip's two people through the API. Then `--clients` client threads, for `--seconds`,
each upload the sample clip's second half (frames 80:) for identification, poll the job every half second
until it ends, check the answer (the walker must be named), and start again. Five seconds in, an enrolment
(more vectors for the jumper, from the clip's first half) is submitted and runs among the identifications. A 429 (the job queue is full) is the
server refusing by design: the client waits a second and tries again; it is counted, not failed.

At the end, submissions stop and every accepted job is waited for. "Lost" counts accepted jobs that never
finished or whose answer was wrong; "failed" counts any other non-2xx answer or failed job. Latencies are
reported as percentiles: the upload request (until 202), the whole job (upload to result: mostly waiting in
the queue, since one job runs at a time), and the polls (GET /api/jobs/ID: the API's responsiveness while
the pipeline keeps both cores busy). The load average of the machine is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from gaitid.samples import WALK_VIDEO

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.upload: list[float] = []
        self.job: list[float] = []
        self.poll: list[float] = []
        self.accepted = self.done = self.refused = self.failed = self.wrong = 0
        self.failures: list[str] = []

    def add(self, name: str, value: float) -> None:
        with self.lock:
            getattr(self, name).append(value)

    def count(self, name: str, note: str | None = None) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)
            if note is not None and len(self.failures) < 20:
                self.failures.append(note)


def start_server(folder: Path, token: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GAITID_TOKEN": token, "PYTHONPATH": str(ROOT / "src")}
    command = [
        sys.executable, "-m", "gaitid", "serve", "--port", str(port), "--gallery", str(folder / "gallery.db"),
        "--work-dir", str(folder / "work"),
    ]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", headers={"Authorization": f"Bearer {token}"}, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start: {process.stderr.read() if process.stderr else ''}")


def submit(client: httpx.Client, path: str, data: dict, stats: Stats | None) -> dict | None:
    """Upload the sample clip; retries after a second on 429. Returns the job, or None on failure."""
    while True:
        start = time.perf_counter()
        with open(WALK_VIDEO, "rb") as f:
            response = client.post(path, data=data, files={"video": ("walk.mp4", f, "video/mp4")})
        if stats is not None:
            stats.add("upload", time.perf_counter() - start)
        if response.status_code == 202:
            return response.json()
        if response.status_code == 429:
            if stats is not None:
                stats.count("refused")
            time.sleep(1.0)
            continue
        if stats is not None:
            stats.count("failed", f"{path}: {response.status_code} {response.text[:200]}")
        return None


def wait(client: httpx.Client, job: dict, stats: Stats | None) -> dict:
    while True:
        start = time.perf_counter()
        response = client.get(f"/api/jobs/{job['id']}")
        if stats is not None:
            stats.add("poll", time.perf_counter() - start)
        response.raise_for_status()
        state = response.json()
        if state["status"] in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.5)


def client_loop(url: str, token: str, stop: threading.Event, stats: Stats) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        while not stop.is_set():
            start = time.perf_counter()
            job = submit(client, "/api/identify", {"frames": "80:"}, stats)
            if job is None:
                continue
            stats.count("accepted")
            try:
                state = wait(client, job, stats)
            except httpx.HTTPError as error:
                stats.count("wrong", f"job {job['id']} lost: {error}")
                continue
            if state["status"] != "done":
                stats.count("failed", f"job {job['id']}: {state['status']} {state['error']}")
                continue
            named = [t["name"] for t in state["result"]["tracks"] if t["status"] == "identified"]
            if named != ["walker"]:
                stats.count("wrong", f"job {job['id']}: named {named}")
                continue
            stats.count("done")
            stats.add("job", time.perf_counter() - start)


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    p = np.percentile(np.asarray(values) * 1000, [50, 90, 95, 99])
    return f"{len(values)} | {p[0]:.0f} | {p[1]:.0f} | {p[2]:.0f} | {p[3]:.0f} | {max(values) * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", help="also write the numbers as JSON here")
    args = parser.parse_args()

    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="gaitid-load-") as tmp:
        process, url = start_server(Path(tmp), token)
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
                for name, track in (("walker", "2"), ("jumper", "1")):
                    job = submit(client, "/api/people", {"name": name, "track": track, "frames": "0:80"}, None)
                    state = wait(client, job, None)
                    assert state["status"] == "done", state
            stats = Stats()
            stop = threading.Event()
            load_before = os.getloadavg()
            started = time.perf_counter()
            threads = [
                threading.Thread(target=client_loop, args=(url, token, stop, stats), daemon=True)
                for _ in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(min(5.0, args.seconds / 2))
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
                more = {"name": "jumper", "track": "1", "frames": "0:80", "add": "true"}  # vectors added to jumper
                enrol = submit(client, "/api/people", more, None)
                enrol_position = enrol["queue_position"] if enrol else None
                time.sleep(max(0.0, args.seconds - (time.perf_counter() - started)))
                load_during = os.getloadavg()
                stop.set()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - started
                enrolled = wait(client, enrol, None) if enrol else None
                people = [f"{p['name']} ({p['enrolments']} enrolments)" for p in client.get("/api/people").json()]
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    lost = stats.accepted - stats.done - stats.failed - stats.wrong
    print(f"{args.clients} clients, {args.seconds:g} s of submissions ({elapsed:.0f} s until every job ended), "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, {load_during[0]:.2f} during (1 min)")
    print(f"identify jobs: {stats.accepted} accepted, {stats.done} done with the right answer, {stats.failed} failed, "
          f"{stats.wrong} wrong, {lost} lost; {stats.refused} uploads refused with 429 (by design) and retried")
    print(f"enrolment submitted at 5 s (queue position {enrol_position}): "
          f"{enrolled['status'] if enrolled else 'not accepted'}; people now: {', '.join(people)}")
    print(f"throughput: {stats.done / elapsed * 60:.1f} identifications per minute")
    print()
    print("| latency (ms) | n | p50 | p90 | p95 | p99 | max |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| upload (POST /api/identify until 202) | {percentiles(stats.upload)} |")
    print(f"| poll (GET /api/jobs/ID) | {percentiles(stats.poll)} |")
    print(f"| whole job (upload to result) | {percentiles(stats.job)} |")
    for note in stats.failures:
        print("  ", note)
    if args.json:
        out = {
            "clients": args.clients, "seconds": args.seconds, "elapsed": elapsed, "cpus": os.cpu_count(),
            "load_before": load_before, "load_during": load_during, "accepted": stats.accepted,
            "done": stats.done, "failed": stats.failed, "lost": lost, "refused_429": stats.refused,
            "enrolment": None if enrolled is None else enrolled["status"],
            "latency_s": {"upload": stats.upload, "poll": stats.poll, "job": stats.job},
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1))
    if lost or stats.failed or stats.wrong or not enrolled or enrolled["status"] != "done":
        sys.exit(1)


if __name__ == "__main__":
    main()
