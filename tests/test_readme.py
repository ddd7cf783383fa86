"""Every code block of README.md runs as written, top to bottom, as a new user would follow it.

One session runs them all, in order, in a fresh working folder with a fresh home (so the default gallery,
the server's token and `~` are the session's own) and `gaitid` on the PATH. The folder holds the files the
README names, cut from the shipped sample clip: `ada*.mp4` show the woman alone (the clip's lower part,
where only she walks), the other videos the whole clip, `photo.jpg` one of its frames. Each block's test
then asserts that its block ran cleanly. What a test machine cannot have is stood in for, and nothing else:

- a camera (`0`, `rtsp://...`) is a local MJPEG camera filming the sample clip; a live run is stopped a few
  seconds after it connects with SIGTERM, as systemd or `docker stop` would, and must end cleanly;
- `gaitid serve` runs in the background until its section of the README ends, then gets SIGTERM;
- the set-up block's commands are the ones `.ci/run` runs (checked, not run again inside the tests);
- blocks that read the real data sets skip, with the reason, where `GAITID_DATA` is missing.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest
from streams import DATA, ROOT, SAMPLE, MjpegCamera, free_port

README = ROOT / "README.md"
LIVE_SECONDS = 5.0  # how long a live run watches the stand-in camera before SIGTERM
CONNECT_SECONDS = 120.0  # how long it may take to start and connect to the camera
CAMERAS = ("0", "rtsp://camera/stream", "rtsp://user:pass@camera/stream")
NEEDS_DATA = ("gaitid evaluate", "gaitid train")  # read CASIA-B or the Kinect walks


@dataclass
class Block:
    line: int  # of the opening fence in README.md
    language: str
    code: str
    section: str

    @property
    def name(self) -> str:
        return f"line{self.line}-{self.language}"


@dataclass
class Outcome:
    ran: bool = True
    skipped: str | None = None
    failures: list[str] = field(default_factory=list)


def readme_blocks() -> list[Block]:
    blocks, section, fence = [], "", None
    lines = README.read_text().splitlines()
    for number, text in enumerate(lines, 1):
        if fence is None and text.startswith("#"):
            section = text.lstrip("#").strip()
        elif fence is None and text.startswith("```"):
            fence = (number, text[3:].strip(), [])
        elif fence is not None and text.startswith("```"):
            blocks.append(Block(fence[0], fence[1], "\n".join(fence[2]) + "\n", section))
            fence = None
        elif fence is not None:
            fence[2].append(text)
    return blocks


BLOCKS = readme_blocks()


def test_every_block_is_shell_or_python() -> None:
    assert BLOCKS and {b.language for b in BLOCKS} <= {"sh", "python"}, [(b.line, b.language) for b in BLOCKS]


# -- the working folder -------------------------------------------------------------------------------------


def _cut(destination: Path, first: int, end: int, rows: slice | None = None) -> None:
    capture = cv2.VideoCapture(str(SAMPLE))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    index = 0
    while True:
        ok, image = capture.read()
        if not ok or index >= end:
            break
        if index >= first:
            image = image[rows] if rows is not None else image
            if writer is None:
                height, width = image.shape[:2]
                writer = cv2.VideoWriter(str(destination), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            writer.write(image)
        index += 1
    capture.release()
    assert writer is not None
    writer.release()


def _workspace(folder: Path) -> None:
    for name in ("walkers.mp4", "corridor.mp4", "clip.mp4", "street.mp4", "walk.mp4"):
        shutil.copy(SAMPLE, folder / name)
    woman = slice(255, 540)  # below the man on the box: the woman walks there alone until frame 140
    _cut(folder / "ada.mp4", 0, 100, woman)
    _cut(folder / "ada-walking.mp4", 0, 140, woman)
    _cut(folder / "ada-2.mp4", 60, 140, woman)
    capture = cv2.VideoCapture(str(SAMPLE))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 40)
    ok, image = capture.read()
    assert ok
    cv2.imwrite(str(folder / "photo.jpg"), image)
    shutil.copytree(ROOT / "configs", folder / "configs")


# -- running the blocks -------------------------------------------------------------------------------------


class Session:
    """The README followed in one folder: shell lines in bash, Python blocks in a fresh interpreter."""

    def __init__(self, folder: Path, camera: MjpegCamera) -> None:
        self.folder, self.camera = folder, camera
        home = folder / "home"
        home.mkdir()
        bin_dir = folder / "bin"
        bin_dir.mkdir()
        launcher = bin_dir / "gaitid"
        launcher.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m gaitid \"$@\"\n")
        launcher.chmod(0o755)
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith(("GAITID_", "XDG_"))
        }
        self.env.update(
            HOME=str(home),
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=str(ROOT / "src"),
            GAITID_DATA=str(DATA),
        )
        self.servers: list[tuple[str, subprocess.Popen[str], int]] = []

    def run(self, block: Block) -> Outcome:
        if block.language == "python":
            return self._python(block)
        outcome = Outcome()
        commands = [line for line in block.code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if any(c.startswith("python3 -m pip install") for c in commands):
            return self._set_up(commands)
        if not DATA.exists() and any(c.startswith(NEEDS_DATA) for c in commands):
            return Outcome(ran=False, skipped=f"the real data sets are not at {DATA} (set GAITID_DATA)")
        chunk: list[str] = []
        for command in commands:
            special = self._live(command) or self._serve(command)
            if special is None:
                chunk.append(command)
                continue
            self._shell(chunk, outcome)
            chunk = []
            special(outcome)
        self._shell(chunk, outcome)
        return outcome

    def end_section(self) -> list[str]:
        """Stop the servers a section started: SIGTERM, and each must exit cleanly."""
        return self._stop_servers(lambda port: True)

    def _stop_servers(self, which: Callable[[int], bool]) -> list[str]:
        failures = []
        stopping = [entry for entry in self.servers if which(entry[2])]
        self.servers = [entry for entry in self.servers if not which(entry[2])]
        for command, server, _ in stopping:
            failures += _terminate(command, server, timeout=30)
        return failures

    def _shell(self, commands: list[str], outcome: Outcome) -> None:
        if not commands:
            return
        script = "set -euo pipefail\n" + "\n".join(commands) + "\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0 or "Traceback" in done.stderr:
            outcome.failures.append(f"{commands}: exit {done.returncode}\n{done.stderr[-3000:]}")

    def _python(self, block: Block) -> Outcome:
        done = subprocess.run(
            [sys.executable, "-c", block.code], cwd=self.folder, env=self.env, capture_output=True, text=True,
            timeout=600,
        )
        outcome = Outcome()
        if done.returncode != 0:
            outcome.failures.append(f"exit {done.returncode}\n{done.stderr[-3000:]}")
        return outcome

    def _set_up(self, commands: list[str]) -> Outcome:
        """The set-up lines are what .ci/run runs (it runs the tests that run this): check they agree."""
        ci = (ROOT / ".ci" / "run").read_text()
        outcome = Outcome(ran=False)
        for command in commands:
            words = shlex.split(command.split("#")[0])
            if words[:4] == ["python3", "-m", "pip", "install"]:
                target = [w for w in words[4:] if not w.startswith("-")]
                if "-e" in words:  # the test environment: .ci/run must install exactly it
                    if not re.search(r"pip install .*-e '" + re.escape(target[0]) + "'", ci):
                        outcome.failures.append(f".ci/run does not install {target[0]} as the README does")
                elif target != ["."]:
                    outcome.failures.append(f"unexpected install line: {command}")
            elif words == ["python3", "-m", "pytest"]:
                if "python3 -m pytest" not in ci:
                    outcome.failures.append(".ci/run does not run the README's test command")
            else:
                outcome.failures.append(f"unexpected set-up line: {command}")
        return outcome

    def _live(self, command: str):  # type: ignore[no-untyped-def]
        words = shlex.split(command.split(" #")[0])
        if words[:1] != ["gaitid"] or len(words) < 3 or words[1] not in ("live", "track", "identify"):
            return None
        if words[2] not in CAMERAS:
            return None
        words[2] = self.camera.url

        def run(outcome: Outcome) -> None:
            seen = self.camera.readers()
            process = subprocess.Popen(
                words, cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            # Watch from the moment it connects: on a loaded machine, starting up can take longer than that.
            if not self.camera.wait_for_reader(seen, CONNECT_SECONDS):
                outcome.failures.append(f"{command}: did not connect to the camera within {CONNECT_SECONDS:g} s")
            time.sleep(LIVE_SECONDS)
            outcome.failures += _terminate(command, process, timeout=60)

        return run

    def _serve(self, command: str):  # type: ignore[no-untyped-def]
        words = shlex.split(command.split(" #")[0])
        if words[:2] != ["gaitid", "serve"]:
            return None
        port = int(words[words.index("--port") + 1]) if "--port" in words else 8000

        def start(outcome: Outcome) -> None:
            # a second server on the same port replaces the first, as a user stops one before starting the next
            outcome.failures += self._stop_servers(lambda other: other == port)
            if not _port_is_free(port):
                outcome.failures.append(f"{command}: port {port} is taken on this machine")
                return
            server = subprocess.Popen(
                words, cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            self.servers.append((command, server, port))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server.poll() is None and _port_is_free(port):
                time.sleep(0.2)
            if server.poll() is not None or _port_is_free(port):
                outcome.failures.append(f"{command}: the server did not start listening on port {port}")

        return start


def _terminate(command: str, process: subprocess.Popen[str], timeout: float) -> list[str]:
    """SIGTERM, as systemd or `docker stop` would send it: the process must end within `timeout` seconds,
    with exit 0 and no traceback. Returns what went wrong (nothing when it ended cleanly)."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return [f"{command}: did not stop within {timeout:g} s of SIGTERM"]
    if process.returncode != 0 or "Traceback" in err:
        return [f"{command}: exit {process.returncode} after SIGTERM\n{err[-3000:]}"]
    return []


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    folder = tmp_path_factory.mktemp("readme")
    _workspace(folder)
    camera = MjpegCamera(free_port(), fps=30.0, video=SAMPLE, loops=100)
    camera.start()
    session = Session(folder, camera)
    results: dict[str, Outcome] = {}
    try:
        for index, block in enumerate(BLOCKS):
            results[block.name] = session.run(block)
            last_of_section = index + 1 == len(BLOCKS) or BLOCKS[index + 1].section != block.section
            if last_of_section:
                results[block.name].failures += session.end_section()
        yield results
    finally:
        session.end_section()
        camera.kill()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_block_runs_as_written(block: Block, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[block.name]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    assert not outcome.failures, f"README.md line {block.line} ({block.section}):\n" + "\n".join(outcome.failures)


def test_every_environment_variable_the_help_names_is_in_the_readme() -> None:
    """What `--help` tells a user to set must be explained in the README too ($GAITID_GALLERY_KEY_FILE was not)."""
    import argparse

    from gaitid.cli import build_parser

    def helps(parser: argparse.ArgumentParser) -> Iterator[str]:
        yield parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for command in action.choices.values():
                    yield from helps(command)

    named = {name for text in helps(build_parser()) for name in re.findall(r"\$(GAITID_[A-Z_]+)", text)}
    readme = README.read_text()
    assert named, "no environment variable found in --help: the test reads help wrongly"
    assert {name for name in named if name not in readme} == set()
