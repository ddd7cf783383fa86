"""The HTTP API in-process (FastAPI's TestClient): access control, the gallery, uploads and their errors,
and identification jobs on the real sample clip."""

from __future__ import annotations

import threading

import pytest
from server_helpers import AUTH, TOKEN, uploads, wait_job

from gaitid.samples import WALK_VIDEO


def _video(name: str = "walk.mp4", data: bytes | None = None, kind: str = "video/mp4") -> dict:
    return {"video": (name, WALK_VIDEO.read_bytes() if data is None else data, kind)}


# -- access control ------------------------------------------------------------------------------------------


def test_every_api_route_needs_the_token_and_the_page_does_not(client_for, tmp_path):
    client = client_for(tmp_path / "g.db")
    spec = client.get("/api/openapi.json", headers=AUTH).json()
    assert spec["info"]["title"] == "gaitid" and "HTTPBearer" in spec["components"]["securitySchemes"]
    routes = [(m, p.replace("{", "").replace("}", "")) for p, ops in spec["paths"].items() for m in ops]
    routes.append(("get", "/api/openapi.json"))
    assert len(routes) >= 15
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert "token" in response.json()["detail"]
    page = client.get("/")
    assert page.status_code == 200 and "<title>gaitid</title>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404


# -- the gallery ---------------------------------------------------------------------------------------------


def test_list_rename_and_remove_people(client_for, make_gallery):
    client = client_for(make_gallery("walker", "jumper"))
    people = client.get("/api/people", headers=AUTH).json()
    assert [(p["name"], p["enrolments"], p["vectors"]) for p in people] == [("jumper", 1, 2), ("walker", 1, 3)]
    assert client.get("/api/health", headers=AUTH).json()["ready"] is True

    renamed = client.patch("/api/people/walker", json={"name": "Wanda W"}, headers=AUTH)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Wanda W" and renamed.json()["vectors"] == 3
    assert client.get("/api/people/Wanda W", headers=AUTH).json()["history"][0]["source"] == "walk.mp4"
    errors = [
        (client.patch("/api/people/nobody", json={"name": "x"}, headers=AUTH), 404, "nobody called"),
        (client.patch("/api/people/jumper", json={"name": "Wanda W"}, headers=AUTH), 409, "already enrolled"),
        (client.patch("/api/people/jumper", json={"name": " spaced"}, headers=AUTH), 422, "pattern"),
        (client.patch("/api/people/jumper", json={}, headers=AUTH), 422, "missing"),
        (client.delete("/api/people/nobody", headers=AUTH), 404, "nobody called"),
    ]
    for response, status, message in errors:
        assert response.status_code == status and message in str(response.json()["detail"])

    removed = client.delete("/api/people/Wanda W", headers=AUTH)
    assert removed.json() == {"name": "Wanda W", "vectors": 3}
    assert [p["name"] for p in client.get("/api/people", headers=AUTH).json()] == ["jumper"]
    assert client.get("/api/health", headers=AUTH).json()["ready"] is True  # one person: the cohort calibrates
    client.delete("/api/people/jumper", headers=AUTH)
    # with nobody left, nobody can be identified: a clear 409 before anything is uploaded or queued
    response = client.post("/api/identify", files=_video(), headers=AUTH)
    assert response.status_code == 409 and "empty" in response.json()["detail"]


# -- uploads -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files, data, status, message",
    [
        (_video("notes.txt", b"just some text", "text/plain"), {}, 415, "not a video type"),
        (_video("photo.png", b"\x89PNG....", "image/png"), {}, 415, "not a video type"),
        (_video("fake.mp4", b"\x00" * 5000), {}, 415, "fake.mp4: not a video file"),
        (_video("bad.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 5000), {}, 422, "bad.mp4: not a readable video"),
        (_video("empty.mp4", b""), {}, 422, "empty.mp4: the uploaded file is empty"),
        (_video(), {"frames": "ten:20"}, 422, "'frames' expects FIRST:END"),
        (_video(), {"frames": "500:"}, 422, "past the end of the video (161 frames)"),
        (_video(), {"name": ""}, 422, "name"),
        (_video(), {"name": "walker"}, 409, "already enrolled"),
        (_video(), {"name": "carol", "track": "-1"}, 422, "track"),
        ({}, {"name": "carol"}, 422, "video"),
    ],
)
def test_bad_uploads_get_a_clear_4xx_and_leave_nothing_behind(client_for, make_gallery, files, data, status, message):
    client = client_for(make_gallery("walker", "jumper"))
    form = {"name": "carol", **data}
    targets = ["/api/people"] if "name" in data or not files else ["/api/people", "/api/identify"]
    for target in targets:
        response = client.post(target, files=files, data=form if target == "/api/people" else data, headers=AUTH)
        assert response.status_code == status, (target, response.text)
        assert message in str(response.json()["detail"])
        assert uploads(client) == []
    assert client.get("/api/jobs", headers=AUTH).json() == []


def test_an_upload_over_the_limit_is_refused_while_it_arrives(client_for, make_gallery):
    client = client_for(make_gallery("walker", "jumper"), max_upload_bytes=100_000)
    response = client.post("/api/identify", files=_video(), headers=AUTH)  # the clip is about 1 MB
    assert response.status_code == 413 and "upload limit" in response.json()["detail"]
    assert uploads(client) == []

    def chunks():  # no Content-Length: the limit is enforced as the body streams in
        boundary = b"XyZ"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
        yield b"Content-Type: video/mp4\r\n\r\n"
        for _ in range(300):
            yield b"\x00" * 10_000
        yield b"\r\n--" + boundary + b"--\r\n"

    response = client.post(
        "/api/identify",
        content=chunks(),
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 413 and uploads(client) == []


def test_an_upload_that_breaks_off_midway_leaves_nothing_behind(client_for, make_gallery):
    client = client_for(make_gallery("walker", "jumper"))
    head = b'--XyZ\r\nContent-Disposition: form-data; name="video"; filename="walk.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    body = head + WALK_VIDEO.read_bytes()[:200_000]  # no closing boundary: the client went away
    response = client.post(
        "/api/identify", content=body, headers={**AUTH, "Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert 400 <= response.status_code < 500 and "detail" in response.json()
    assert uploads(client) == [] and client.get("/api/jobs", headers=AUTH).json() == []


def test_a_full_queue_answers_429(client_for, make_gallery):
    client = client_for(make_gallery("walker", "jumper"), max_queued_jobs=1)
    service = client.app.state.service
    release = threading.Event()

    def held(job):  # type: ignore[no-untyped-def]
        release.wait(30)

    service.jobs._run = held
    try:
        first = client.post("/api/identify", files=_video(), headers=AUTH).json()
        while client.get(f"/api/jobs/{first['id']}", headers=AUTH).json()["status"] == "queued":
            pass
        second = client.post("/api/identify", files=_video(), headers=AUTH)
        assert second.status_code == 202 and second.json()["queue_position"] == 1
        third = client.post("/api/identify", files=_video(), headers=AUTH)
        assert third.status_code == 429 and "already waiting" in third.json()["detail"]
        assert len(uploads(client)) == 2
        cancelled = client.delete(f"/api/jobs/{second.json()['id']}", headers=AUTH).json()
        assert cancelled["status"] == "cancelled" and len(uploads(client)) == 1
    finally:
        release.set()


# -- jobs on the real clip -----------------------------------------------------------------------------------


def test_identify_an_upload_names_the_walker_and_serves_the_annotated_video(client_for, make_gallery):
    client = client_for(make_gallery("walker", "jumper"))
    response = client.post("/api/identify", files=_video(), data={"frames": "80:"}, headers=AUTH)
    assert response.status_code == 202
    job = response.json()
    assert job["kind"] == "identify" and job["frames_total"] == 81 and job["status"] in ("queued", "running")
    done = wait_job(client, job)
    assert done["status"] == "done" and done["progress"] == 1.0 and done["frames_done"] == 81
    result = done["result"]
    assert set(result) >= {"source", "model", "window", "frames", "seconds", "tracks"}  # the CLI's JSON
    assert result["source"] == "walk.mp4" and result["frames"] == 41
    named = [t for t in result["tracks"] if t["status"] == "identified"]
    assert [t["name"] for t in named] == ["walker"]
    video = client.get(done["video_url"], headers=AUTH)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 10_000
    assert uploads(client) == []
    assert client.get("/api/jobs/unknown", headers=AUTH).status_code == 404


def test_enrolment_of_a_video_with_two_walkers_asks_for_a_track(client_for, make_gallery):
    client = client_for(make_gallery())
    job = client.post("/api/people", files=_video(), data={"name": "carol", "frames": "0:80"}, headers=AUTH).json()
    done = wait_job(client, job)
    assert done["status"] == "failed" and "2 walkers were seen long enough for a gait window" in done["error"]
    assert "track field" in done["error"] and "--" not in done["error"]  # the API's words, not the CLI's
    assert "walk.mp4" in done["error"] and str(client.app.state.service.uploads) not in done["error"]
    assert sorted(t["id"] for t in done["tracks"]) == [1, 2]
    assert client.get("/api/people", headers=AUTH).json() == []


def test_the_site_cohort_grows_from_an_upload_and_can_be_erased(client_for, make_gallery):
    client = client_for(make_gallery("walker"))
    assert client.get("/api/cohort", headers=AUTH).json() == {"models": {}}
    job = client.post("/api/cohort", files=_video(), data={"frames": "0:80"}, headers=AUTH)
    assert job.status_code == 202 and job.json()["kind"] == "cohort"
    done = wait_job(client, job.json())
    assert done["status"] == "done" and done["result"]["walkers"] == 2, done
    models = client.get("/api/cohort", headers=AUTH).json()["models"]
    assert list(models.values()) == [{"walkers": 2, "vectors": done["result"]["vectors_added"]}]
    assert client.delete("/api/cohort", headers=AUTH).json() == {"models": {}}
    assert uploads(client) == []
