"""Live sources on a real loopback server: the sample clip played as a source, walkers named as they pass,
events as server-sent events, the annotated frames, enrolment of a live track; and the errors."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from server_helpers import AUTH, settings_for

from gaitid.pipeline import PipelineOptions
from gaitid.samples import WALK_VIDEO
from gaitid.server import create_app
from gaitid.sources import VideoFile


class EventReader:
    """Reads /api/events on a thread of its own, keeping every event."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[dict] = []
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "the event stream did not open"

    def _read(self) -> None:
        with httpx.Client(headers=AUTH, timeout=httpx.Timeout(5.0, read=60.0)) as client:
            with client.stream("GET", f"{self.url}/api/events") as response:
                self.content_type = response.headers["content-type"]
                self.connected.set()
                try:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            self.events.append(json.loads(line[6:]))
                except httpx.HTTPError:  # the server stopping ends the stream (a browser would reconnect)
                    return

    def wait_for(self, predicate, timeout: float) -> dict:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no such event in {timeout} s; got {self.events}")


@pytest.mark.parametrize("max_fps", [None, 15.0])
def test_a_live_source_names_walkers_as_they_pass(loopback_server, make_gallery, tmp_path, max_fps):
    """At every frame, and (`gaitid serve --max-fps 15`) at every second frame of the 30 frames/s clip, with
    windows of the same time span."""
    pipeline = PipelineOptions(progress=False, max_fps=max_fps)
    server = loopback_server(
        settings_for(make_gallery("walker", "jumper"), tmp_path, allow_file_sources=True, pipeline=pipeline)
    )
    reader = EventReader(server.url)
    assert reader.content_type.startswith("text/event-stream")
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        response = http.post("/api/sources", json={"spec": str(WALK_VIDEO)})
        assert response.status_code == 201, response.text
        source = response.json()
        assert source["status"] == "running" and source["identifying"] is True

        named = reader.wait_for(lambda e: e["type"] == "walker" and e.get("name") == "walker", timeout=120)
        assert named["event"] == "identified" and named["source"] == source["id"] and named["score"] > 0.9

        frame = http.get(f"/api/sources/{source['id']}/frame.jpg")
        assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8" and int(frame.headers["X-Frame"]) > 0
        with http.stream("GET", f"/api/sources/{source['id']}/stream.mjpg") as stream:
            first = next(stream.iter_bytes())
            assert first.startswith(b"--frame\r\nContent-Type: image/jpeg")

        tracks = http.get(f"/api/sources/{source['id']}").json()["tracks"]
        walker = next(t for t in tracks if t["name"] == "walker")
        assert walker["windows"] >= 1
        enrolled = http.post(
            f"/api/sources/{source['id']}/tracks/{walker['id']}/enroll", json={"name": "walker", "add": True}
        )
        assert enrolled.status_code == 201 and enrolled.json()["enrolments"] == 2
        taken = http.post(f"/api/sources/{source['id']}/tracks/{walker['id']}/enroll", json={"name": "jumper"})
        assert taken.status_code == 409
        missing = http.post(f"/api/sources/{source['id']}/tracks/999/enroll", json={"name": "x"})
        assert missing.status_code == 404 and "no track 999" in missing.json()["detail"]

        reader.wait_for(lambda e: e["type"] == "source" and e["status"] == "ended", timeout=120)  # the clip's end
        left = [e for e in reader.events if e["type"] == "walker" and e["event"] == "left"]
        assert left, reader.events
        ended = http.get(f"/api/sources/{source['id']}").json()
        assert ended["status"] == "ended"
        with VideoFile(WALK_VIDEO) as clip:
            every = clip.frame_count if max_fps is None else -(-clip.frame_count // 2)
        assert ended["frames"] == every, ended
        stopped = http.delete(f"/api/sources/{source['id']}")
        assert stopped.status_code == 200
        assert http.get(f"/api/sources/{source['id']}").status_code == 404


@pytest.mark.parametrize(
    "changes, spec, status, message",
    [
        ({}, str(WALK_VIDEO), 422, "--allow-file-sources"),
        ({}, "rtsp://127.0.0.1:1/none", 422, "rtsp://127.0.0.1:1/none"),
        ({"max_live_sources": 0}, "0", 409, "stop one first"),
        ({}, "", 422, "spec"),
    ],
)
def test_live_source_errors(make_gallery, tmp_path, changes, spec, status, message):
    app = create_app(settings_for(make_gallery(), tmp_path, **changes))
    with TestClient(app) as client:
        response = client.post("/api/sources", json={"spec": spec}, headers=AUTH)
        assert response.status_code == status and message in str(response.json()["detail"])
        assert client.get("/api/sources/nope", headers=AUTH).status_code == 404
        assert client.get("/api/sources", headers=AUTH).json() == []
