"""`gaitid serve` as a service manager runs it: SIGTERM (systemd, `docker stop`) or Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from server_helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_with_exit_0(tmp_path: Path, stop: int) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAITID_", "XDG_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT / "src"))
    command = [sys.executable, "-m", "gaitid", "serve", "--port", str(port), "--gallery", str(tmp_path / "g.db")]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _listening(port), "the server did not start"
        server.send_signal(stop)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, err
    assert "Traceback" not in err and "the server has stopped" in err
