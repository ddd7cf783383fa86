"""Hostile input to the server (issue #16): uploads that are playlists, live-source addresses that reach
where they should not, numbers that are not ASCII, paths in error messages. Each answer is a one-line 4xx,
never a 500, and nothing on the server's disk or network is read that should not be."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from server_helpers import AUTH, atime_is_recorded, settings_for, untouched_since, write_clip

from gaitid.server import create_app


@pytest.fixture
def client_for(tmp_path):
    clients = []

    def make(gallery, **changes) -> TestClient:  # type: ignore[no-untyped-def]
        client = TestClient(create_app(settings_for(gallery, tmp_path, **changes)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _uploads(client: TestClient) -> list:
    return list(client.app.state.service.uploads.iterdir())


# -- uploads are opened as the single video file they claim to be ---------------------------------------------


def _playlist(segment: str) -> bytes:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{segment}\n#EXT-X-ENDLIST\n".encode()


@pytest.mark.parametrize(
    "filename, content_type, make",
    [
        ("walk.m3u8", "application/octet-stream", lambda local: _playlist(f"file://{local}")),
        ("walk.m3u8", "video/mp4", lambda local: _playlist(str(local))),
        ("walk.mp4", "video/mp4", lambda local: _playlist(f"file://{local}")),
        ("walk.mp4", "video/mp4", lambda local: f"ffconcat version 1.0\nfile 'file:{local}'\n".encode()),
    ],
)
def test_an_uploaded_playlist_is_refused_and_reads_nothing(client_for, make_gallery, tmp_path, filename, content_type, make):
    private = tmp_path / "private"
    private.mkdir()
    local = write_clip(private / "local.ts", 0, 30, 320)  # a video on the server's disk, not for uploaders
    client = client_for(make_gallery("walker", "jumper"))
    read_before = untouched_since(local)
    response = client.post("/api/identify", files={"video": (filename, make(local), content_type)}, headers=AUTH)
    assert response.status_code == 415, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{filename}: ") and "\n" not in detail and str(tmp_path) not in detail
    assert _uploads(client) == [] and client.get("/api/jobs", headers=AUTH).json() == []
    if atime_is_recorded(tmp_path):
        assert local.stat().st_atime == read_before, "the server read the file the playlist names"


def test_uploads_in_the_usual_containers_are_accepted_and_saved_under_a_fixed_suffix(client_for, make_gallery, tmp_path):
    client = client_for(make_gallery("walker", "jumper"))
    service = client.app.state.service
    service.jobs._run = lambda job: None  # only the checks at upload matter here
    for clip in (write_clip(tmp_path / "a.ts", 0, 10, 160), write_clip(tmp_path / "b.mp4", 0, 10, 160)):
        response = client.post(
            "/api/identify", files={"video": ("clip.m3u8", clip.read_bytes(), "video/mp4")}, headers=AUTH
        )
        assert response.status_code == 202, response.text
    assert {p.suffix for p in service.new_upload_path("x.m3u8").parent.iterdir()} <= {".upload"}
    assert service.new_upload_path("walk.m3u8").suffix == ".upload"


# -- numbers that are not ASCII digits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, message",
    [
        ("\u00b2", "neither a camera index"),  # "²": str.isdigit() is true, int() refuses it
        ("\u0663", "neither a camera index"),  # an Arabic-Indic 3: int() takes it, but it is not camera 3
        ("9" * 2000, "neither a camera index"),  # no camera has that index (/dev/video999... is too long a name)
        (" 0\u00b2 ", "neither a camera index"),
    ],
)
def test_a_camera_index_is_ascii_digits(client_for, make_gallery, spec, message):
    client = client_for(make_gallery())
    response = client.post("/api/sources", json={"spec": spec}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("last_event_id", [b"\xb2", b"\xc2\xb2", "\u0663".encode(), b"9" * 5000, b"-1", b"1e3", b"+5"])
def test_a_bad_last_event_id_is_ignored(loopback_server, make_gallery, tmp_path, last_event_id):
    import httpx

    server = loopback_server(settings_for(make_gallery(), tmp_path))
    headers = {**AUTH, "Last-Event-ID": last_event_id}
    with httpx.Client(timeout=10) as http, http.stream("GET", f"{server.url}/api/events", headers=headers) as response:
        assert response.status_code == 200
        assert next(response.iter_lines()) == "retry: 2000"


def test_a_content_length_of_thousands_of_digits_is_refused_cleanly(loopback_server, make_gallery, tmp_path):
    import socket

    server = loopback_server(settings_for(make_gallery(), tmp_path))
    request = (
        f"POST /api/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {'9' * 5000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = sock.recv(4096)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer
