"""Hostile input to the server (issue #16): uploads that are playlists, live-source addresses that reach
where they should not, numbers that are not ASCII, paths in error messages. Each answer is a one-line 4xx,
never a 500, and nothing on the server's disk or network is read that should not be."""

from __future__ import annotations

import time

import pytest
from server_helpers import AUTH, atime_is_recorded, free_port, settings_for, untouched_since, uploads, write_clip

from gaitid.sources import LiveOptions


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
    assert uploads(client) == [] and client.get("/api/jobs", headers=AUTH).json() == []
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


# -- what a live source may connect to -------------------------------------------------------------------------


class _Listener:
    """A loopback TCP server on a thread that counts its connections and answers each with `reply`
    (bytes, or a function of the request's first line), then closes it."""

    def __init__(self, reply) -> None:  # type: ignore[no-untyped-def]
        import socket
        import threading

        self.reply, self.connections = reply, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0] if not isinstance(self.reply, bytes) else b""
                    conn.sendall(self.reply if isinstance(self.reply, bytes) else self.reply(first))
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _http(status: str, body: bytes, content_type: str = "text/plain", extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


@pytest.fixture
def listeners():
    made: list[_Listener] = []

    def make(reply) -> _Listener:  # type: ignore[no-untyped-def]
        made.append(_Listener(reply))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


FAST_LIVE = {"live": LiveOptions(open_timeout=1.0, give_up_after=2.0)}


@pytest.mark.parametrize(
    "spec",
    [
        "tcp://127.0.0.1:22",
        "udp://127.0.0.1:5000",
        "srt://127.0.0.1:9000",
        "rtmp://127.0.0.1/live/cam",
        "ftp://127.0.0.1/video.mp4",
        "file:///etc/passwd",
        "concat:/etc/passwd|/etc/hosts",
        "subfile,,start,0,end,100,,:/etc/passwd",
        "http://127.0.0.1:80/a b",
        "http://127.0.0.1/x\r\nX-Injected: 1",
        "http://[::1/",
        "http://127.0.0.1:99999/",
        "http:///path-without-host",
    ],
)
def test_live_sources_are_camera_streams_only(client_for, make_gallery, spec):
    client = client_for(make_gallery(), allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
    response = client.post("/api/sources", json={"spec": spec}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert "rtsps://" in response.json()["detail"] and "\n" not in response.json()["detail"]


def test_local_addresses_are_refused_unless_the_operator_allows_them(client_for, make_gallery, listeners):
    camera = listeners(_http("200 OK", b"not a video"))
    client = client_for(make_gallery(), **FAST_LIVE)
    port = camera.port
    for spec in (
        f"http://127.0.0.1:{port}/video",
        f"rtsp://127.0.0.1:{port}/cam",
        f"http://localhost:{port}/video",
        f"http://127.1:{port}/video",
        f"http://2130706433:{port}/video",
        f"http://0x7f.0.0.1:{port}/video",
        f"http://0.0.0.0:{port}/video",
        f"http://[::ffff:127.0.0.1]:{port}/video",
        f"http://[::1]:{port}/video",
        f"http://user:secret@127.0.0.1:{port}/video",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/video",
        "http://224.0.0.1/video",
    ):
        response = client.post("/api/sources", json={"spec": spec}, headers=AUTH)
        assert response.status_code == 422, (spec, response.text)
        detail = response.json()["detail"]
        assert "--allow-source-hosts" in detail and "secret" not in detail, detail
    assert camera.connections == 0
    allowed = client_for(make_gallery(), allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
    response = allowed.post("/api/sources", json={"spec": f"http://127.0.0.1:{port}/video"}, headers=AUTH)
    assert response.status_code == 422 and camera.connections >= 1  # reached (and found no video there)
    elsewhere = client_for(make_gallery(), allow_source_hosts=("camera.invalid", "192.168.7.0/24"), **FAST_LIVE)
    for spec in (f"http://127.0.0.1:{port}/video", "http://192.168.8.1/video", "rtsp://other.invalid/cam"):
        response = elsewhere.post("/api/sources", json={"spec": spec}, headers=AUTH)
        assert response.status_code == 422 and "--allow-source-hosts" in response.json()["detail"], response.text


def test_a_failed_source_says_the_same_whatever_answered(client_for, make_gallery, listeners):
    """Refused, an SSH banner, an HTTP error page, a web page: one message, and no quicker than the open
    timeout, so that the endpoint tells nothing of what listens where."""
    import time

    client = client_for(make_gallery(), allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
    targets = [
        free_port(),  # nothing listens
        listeners(b"SSH-2.0-OpenSSH_9.6 secret-banner\r\n").port,
        listeners(_http("404 Not Found", b"<h1>secret page</h1>", "text/html")).port,
        listeners(_http("200 OK", b"secret text")).port,
    ]
    details = set()
    for port in targets:
        for scheme in ("http", "rtsp"):
            url = f"{scheme}://127.0.0.1:{port}/cam"
            start = time.monotonic()
            response = client.post("/api/sources", json={"spec": url}, headers=AUTH)
            took = time.monotonic() - start
            assert response.status_code == 422, response.text
            detail = response.json()["detail"]
            assert "secret" not in detail and took >= 0.9, (url, detail, took)
            details.add(detail.replace(url, "URL"))
    assert len(details) == 1, details


def test_a_playlist_on_an_allowed_host_reads_no_file_of_the_server(client_for, make_gallery, listeners, tmp_path):
    local = write_clip(tmp_path / "local.ts", 0, 30, 320)  # on the server's disk
    playlist = _playlist(f"file://{local}")
    server = listeners(lambda first: _http("200 OK", playlist, "application/vnd.apple.mpegurl"))
    client = client_for(make_gallery(), allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
    read_before = untouched_since(local)
    response = client.post("/api/sources", json={"spec": f"http://127.0.0.1:{server.port}/live.m3u8"}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert server.connections >= 1
    if atime_is_recorded(tmp_path):
        assert local.stat().st_atime == read_before, "the server read the file the playlist names"


def test_redirects_are_not_followed(client_for, make_gallery, listeners):
    target = listeners(_http("200 OK", b"not a video"))
    redirect = listeners(_http("302 Found", b"", extra=f"Location: http://127.0.0.1:{target.port}/video\r\n"))
    client = client_for(make_gallery(), allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
    response = client.post("/api/sources", json={"spec": f"http://127.0.0.1:{redirect.port}/video"}, headers=AUTH)
    assert response.status_code == 422 and redirect.connections >= 1 and target.connections == 0, response.text


def test_a_camera_stream_on_an_allowed_host_runs(loopback_server, make_gallery, tmp_path):
    import httpx
    from streams import MjpegCamera

    camera = MjpegCamera(free_port(), fps=10.0)
    camera.start()
    try:
        settings = settings_for(make_gallery(), tmp_path, allow_source_hosts=("127.0.0.1",), **FAST_LIVE)
        server = loopback_server(settings)
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
            response = http.post("/api/sources", json={"spec": camera.url})
            assert response.status_code == 201, response.text
            source = response.json()
            deadline = time.monotonic() + 20
            while http.get(f"/api/sources/{source['id']}").json()["frames"] < 3:
                assert time.monotonic() < deadline, "no frame from the camera"
                time.sleep(0.2)
            assert http.delete(f"/api/sources/{source['id']}").status_code == 200
    finally:
        camera.kill()


@pytest.mark.parametrize(
    "allowed, url, verdict",
    [
        ((), "rtsp://192.168.1.20:554/stream1", "ok"),  # cameras live on private networks
        ((), "http://10.1.2.3/video.mjpg", "ok"),
        ((), "rtsps://[2001:db8::5]/cam", "ok"),
        ((), "rtsp://127.0.0.1/cam", "local"),
        ((), "rtsp://127.0.0.2/cam", "local"),
        ((), "http://[::1]/", "local"),
        ((), "http://[::ffff:169.254.169.254]/", "local"),
        ((), "http://169.254.169.254/latest/meta-data/", "local"),
        ((), "http://[fe80::1]/", "local"),
        ((), "http://0.0.0.0/", "local"),
        ((), "http://255.255.255.255/", "local"),
        ((), "http://localhost/", "local"),
        ((), "http://2130706433/", "local"),
        ((), "udp://10.1.2.3:5000", "scheme"),
        ((), "HTTP://10.1.2.3/", "ok"),
        (("192.168.1.0/24",), "rtsp://192.168.1.20/cam", "ok"),
        (("192.168.1.0/24",), "rtsp://192.168.2.20/cam", "listed"),
        (("192.168.1.0/24",), "rtsp://cam.invalid/cam", "listed"),
        (("Cam.Example.",), "rtsp://cam.example/cam", "ok"),  # names are compared, not resolved
        (("cam.example",), "rtsp://user:pw@CAM.EXAMPLE:8554/cam", "ok"),
        (("cam.example",), "rtsp://10.0.0.1/cam", "listed"),
        (("127.0.0.1", "::1"), "http://[::1]:8080/", "ok"),
        (("127.0.0.1",), "http://127.0.0.1:8080/", "ok"),
    ],
)
def test_the_source_policy(allowed, url, verdict):
    from gaitid.server.addresses import SourcePolicy, SourceRefused

    policy = SourcePolicy(allowed)
    if verdict == "ok":
        policy.check(url)
        return
    expected = {"local": "local address", "listed": "not among the hosts", "scheme": "rtsps://"}[verdict]
    with pytest.raises(SourceRefused, match=expected):
        policy.check(url)


def test_the_operator_list_is_checked_and_playlists_need_it():
    from gaitid.errors import GaitidError
    from gaitid.server.addresses import SourcePolicy
    from gaitid.server.settings import ServerSettings

    for bad in ("http://cam", "a b", "cam/", "10.0.0.0/99"):
        with pytest.raises(GaitidError, match="--allow-source-hosts"):
            ServerSettings(token="t" * 20, allow_source_hosts=(bad,))
    assert "hls" not in SourcePolicy().formats and "hls" in SourcePolicy(["cam.example"]).formats


# -- what errors tell ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, form", [("/api/identify", {}), ("/api/people", {"name": "carol"})])
def test_a_failed_job_names_the_upload_not_the_servers_folders(client_for, make_gallery, tmp_path, target, form):
    from server_helpers import wait_job

    clip = write_clip(tmp_path / "clip.mp4", 0, 60, 320)
    cut = clip.read_bytes()[: clip.stat().st_size // 2]  # the index is at the front: the frames break off
    client = client_for(make_gallery("walker", "jumper"))
    response = client.post(target, files={"video": ("my walk.mp4", cut, "video/mp4")}, data=form, headers=AUTH)
    assert response.status_code == 202, response.text
    done = wait_job(client, response.json(), timeout=60)
    assert done["status"] == "failed" and "my walk.mp4" in done["error"], done
    work = str(client.app.state.service.work_dir)
    assert work not in done["error"] and ".upload" not in done["error"] and str(tmp_path) not in done["error"]
    assert uploads(client) == []


@pytest.mark.parametrize("host, port", [("999.1.1.1", "8765"), ("no such host", "8765"), ("127.0.0.1", "taken")])
def test_serve_on_an_address_it_cannot_listen_on_is_a_one_line_error(tmp_path, monkeypatch, capfd, host, port):
    import socket

    from gaitid.cli import main

    monkeypatch.setenv("GAITID_TOKEN", "a-token-for-this-test-0123")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        number = str(taken.getsockname()[1]) if port == "taken" else port
        code = main(["serve", "--host", host, "--port", number, "--gallery", str(tmp_path / "g.db")])
    err = capfd.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("gaitid: error: ") and host in err, err
    assert not (tmp_path / "g.db").exists()
