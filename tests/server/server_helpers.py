"""Helpers of the server tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from gaitid.server import ServerSettings, create_app

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WALKER_TRACK, JUMPER_TRACK = 2, 1  # in a run over frames 0:80 of the sample clip



def settings_for(gallery: Path, tmp_path: Path, **changes) -> ServerSettings:  # type: ignore[no-untyped-def]
    return ServerSettings(token=TOKEN, gallery=gallery, work_dir=tmp_path / "work", **changes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer:
    """The app served by uvicorn on 127.0.0.1 on a thread of the test process."""

    def __init__(self, settings: ServerSettings) -> None:
        import uvicorn

        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)

    @property
    def service(self):  # type: ignore[no-untyped-def]
        return self.app.state.service

    def start(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.service.hub.close()  # as `gaitid serve` does on Ctrl-C: event streams end, so shutdown is prompt
        self.server.should_exit = True
        self.thread.join(30)



def wait_job(client, job: dict, timeout: float = 120.0) -> dict:  # type: ignore[no-untyped-def]
    """Poll a job until it finishes; returns its last state."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"/api/jobs/{job['id']}", headers=AUTH).json()
        if state["status"] in ("done", "failed", "cancelled"):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {state['status']} after {timeout} s: {state}")
        time.sleep(0.2)
