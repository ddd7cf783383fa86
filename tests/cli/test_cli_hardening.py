"""Regression tests of issue #16 (command line): hostile input gives one line and exit status 2, found
before any work is done; nothing is left behind or overwritten. The tables of cases over every command are
in test_cli_bad_input.py; these pin down each defect on its own."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_cli_bad_input import NoOne, _gallery, png_header, truncated_copy

from gaitid import pipeline
from gaitid.cli import build_parser, main
from gaitid.errors import InputError
from gaitid.commands import identify as identify_app
from gaitid.commands import pose as pose_app
from gaitid.pipeline import run as pipeline_run
from gaitid.samples import WALK_VIDEO
from gaitid.sources import VideoWriter, open_source
from gaitid.sources.files import read_image


def never(*args: object, **kwargs: object) -> None:
    raise AssertionError("the work started before the arguments were checked")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAITID_GALLERY", str(tmp_path / "default.db"))
    for name in ("GAITID_GALLERY_KEY", "GAITID_GALLERY_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    for module in (pipeline_run, identify_app):  # where analyse and the track command look it up
        monkeypatch.setattr(module, "default_estimator", lambda *a, **k: NoOne())
    monkeypatch.setattr(pose_app, "HumanPoseNN", NoOne)
    return tmp_path


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gallery") / "g.db"
    _gallery(path)
    return path


def one_error(capsys: pytest.CaptureFixture) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gaitid: error: "), lines
    return lines[0]


# -- 1. outputs that cannot be written: refused before the work, in one line --------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["identify", str(WALK_VIDEO), "--gallery", "{gallery}", "--json", "/proc/none/r.json"], "cannot write"),
        (["identify", str(WALK_VIDEO), "--gallery", "{gallery}", "--out", "{tmp}/folder.mp4"], "is a folder"),
        (["enroll", "ada", str(WALK_VIDEO), "--gallery", "/proc/none/g.db"], "cannot write"),
        (["gallery", "cohort", "add", str(WALK_VIDEO), "--gallery", "/proc/g.db"], "cannot write"),
        (["live", str(WALK_VIDEO), "--gallery", "{gallery}", "--out", "/proc/l.mp4"], "cannot write"),
        (["track", str(WALK_VIDEO), "--json", "/proc/none/t.json"], "cannot write"),
        (["pose", str(WALK_VIDEO), "--out", "/proc/p.mp4"], "cannot write"),
        (["demo", "/proc/none"], "cannot write"),
    ],
    ids=["identify-json", "identify-out-folder", "enroll-gallery", "cohort-gallery", "live-out", "track-json",
         "pose-out", "demo"],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_work(
    argv: list[str], message: str, env: Path, gallery: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(identify_app, "analyse", never)
    monkeypatch.setattr(identify_app, "run_source", never)
    monkeypatch.setattr(pose_app, "HumanPoseNN", never)
    (env / "folder.mp4").mkdir()
    argv = [a.format(gallery=gallery, tmp=env) for a in argv]
    assert main(argv) == 2
    assert message in one_error(capsys)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gallery", "export", "/proc/none/e.json", "--gallery", "{gallery}"], "cannot write in /proc"),
        (["export", "{text}", "/proc/none/m.onnx"], "cannot write in /proc"),
        (["evaluate", "casia-b", "--json", "/proc/none/r.json"], "cannot write in /proc"),
        (["train", "{text}", "--out-dir", "/proc/none/run"], "cannot write in /proc"),
        (["pose", "{image}", "--json", "{tmp}/null"], "not a regular file"),  # a link to /dev/null
        (["pose", "{image}", "--out", "{image}"], "is also an input"),
        (["track", str(WALK_VIDEO), "--json", "{tmp}"], "is a folder"),
    ],
    ids=["gallery-export", "export", "evaluate", "train", "dev-null", "input-as-output", "folder"],
)
def test_outputs_that_cannot_or_must_not_be_written(
    argv: list[str], message: str, env: Path, gallery: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from gaitid.evaluation import crossview

    monkeypatch.setattr(crossview, "make_embedder", never)
    text, image = env / "notes.yaml", env / "photo.png"
    text.write_text("x: 1\n")
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    before = image.read_bytes()
    (env / "null").symlink_to("/dev/null")
    argv = [a.format(gallery=gallery, tmp=env, text=text, image=image) for a in argv]
    assert main(argv) == 2
    assert message in one_error(capsys)
    assert image.read_bytes() == before
    assert (env / "null").is_symlink() and (env / "null").is_char_device()


def test_an_os_error_that_escapes_is_one_line(env: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from gaitid.commands import gallery as app

    def fails(*args: object) -> int:
        raise PermissionError(13, "Permission denied", "/somewhere/gallery.db")

    monkeypatch.setattr(app, "run_list", fails)
    assert main(["gallery", "list"]) == 2
    assert one_error(capsys) == "gaitid: error: /somewhere/gallery.db: Permission denied"


@pytest.mark.parametrize(
    "name, shown",
    [("two\nlines.mp4", "two\\nlines.mp4"), ("\x1b[2Jred.mp4", "\\x1b[2Jred.mp4"), ("\udcff.mp4", "\\xff.mp4")],
    ids=["newline", "escape", "not-utf8"],
)
def test_errors_name_files_on_one_printable_line(name: str, shown: str, tmp_path: Path, capsys) -> None:
    assert main(["track", str(tmp_path / name)]) == 2
    assert one_error(capsys) == f"gaitid: error: {tmp_path / shown}: no such file"


def test_a_reader_that_goes_away_ends_the_output_quietly(gallery: Path) -> None:
    import os
    import subprocess
    import sys

    import gaitid

    env = dict(os.environ, PYTHONPATH=str(Path(gaitid.__file__).resolve().parents[1]))  # the gaitid tested
    for argv in (["gallery", "list", "--gallery", str(gallery)], ["--help"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "gaitid", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        process.stdout.close()  # as `| head -c 0` does, before the command writes
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) in (0, 141) and stderr == "", stderr


def test_a_usage_error_is_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["track", "walk.mp4", "--threads", "two"])
    assert exit.value.code == 2
    assert one_error(capsys) == (
        "gaitid: error: argument --threads: invalid int value: 'two' (see gaitid track --help)"
    )


def test_enrolling_someone_already_enrolled_is_refused_before_the_work(
    gallery: Path, env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(identify_app, "analyse", never)
    assert main(["enroll", "ada", str(WALK_VIDEO), "--gallery", str(gallery), "--no-progress"]) == 2
    assert "'ada' is already enrolled" in one_error(capsys)


# -- 2. digits that are not ASCII ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["²", "¹²", "0²", "٣", " ٣ "])
def test_unicode_digits_are_no_camera(spec: str, env: Path, capsys) -> None:
    from gaitid.sources import camera_index

    assert camera_index(spec) is None
    with pytest.raises(InputError, match="no such file"):
        open_source(spec)
    assert main(["track", spec, "--no-progress"]) == 2
    assert "no such file" in one_error(capsys)


def test_ascii_digits_are_still_cameras() -> None:
    from gaitid.sources import camera_index

    assert camera_index("0") == 0 and camera_index(" 12 ") == 12 and camera_index("-1") is None


@pytest.mark.parametrize("frames", ["٣:", "0:١٢", "²:", "+3:", "1_0:"])
def test_frame_ranges_are_ascii_numbers(frames: str) -> None:
    with pytest.raises(InputError, match="--frames"):
        pipeline.parse_frame_range(frames)


def test_a_huge_subject_range_is_refused_at_once() -> None:
    from gaitid.errors import GaitidError
    from gaitid.training.config import parse_subjects

    with pytest.raises(GaitidError, match="cannot read"):
        parse_subjects("1-" + "9" * 30)  # was a list of 10**30 numbers in the making


# -- 3. images that declare huge sizes -----------------------------------------------------------------------


def test_an_image_declaring_huge_dimensions_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: Path, capsys
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(60_000, 60_000))
    assert bomb.stat().st_size < 100
    monkeypatch.setattr(cv2, "imdecode", never)
    with pytest.raises(InputError, match="60000 x 60000 pixels is too large"):
        read_image(bomb)
    assert main(["pose", str(bomb), "--json", str(tmp_path / "p.json")]) == 2
    assert "too large" in one_error(capsys)
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm"])
def test_image_sizes_are_read_from_headers(suffix: str) -> None:
    from gaitid.sources.files import image_size

    ok, data = cv2.imencode(suffix, np.zeros((37, 53, 3), np.uint8))
    assert ok and image_size(data.tobytes()) == (53, 37)


@pytest.mark.parametrize(
    "data",
    [b"P6" + b" " * 100_000 + b"x", b"P6 " + b"9" * 10_000 + b" 5 ", b"II*\0\xff\xff\xff\xff", b"\xff\xd8\xff",
     b"RIFF\0\0\0\0WEBPVP8X", b"BM"],
    ids=["pnm-spaces", "pnm-digits", "tiff-offset", "jpeg-cut", "webp-cut", "bmp-cut"],
)
def test_image_headers_that_lie_are_read_quickly_or_not_at_all(data: bytes) -> None:
    from gaitid.sources.files import image_size

    size = image_size(data)
    assert size is None or all(isinstance(v, int) for v in size)


# -- 4. a file that is not a model ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"this is text\n", WALK_VIDEO.read_bytes()[:50_000], b""], ids=["text", "video", "empty"]
)
def test_export_of_a_file_that_is_not_a_checkpoint(content: bytes, tmp_path: Path, capsys) -> None:
    source = tmp_path / "text.mp4"
    source.write_bytes(content)
    assert main(["export", str(source), str(tmp_path / "out.onnx")]) == 2
    assert "not a PyTorch checkpoint" in one_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text.mp4"]


def test_a_failed_export_leaves_no_half_made_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from gaitid.errors import GaitidError
    from gaitid.training import export

    def half(loaded: object, out: Path, *args: object) -> Path:
        Path(out).write_bytes(b"half an onnx model")
        raise GaitidError("the checker refused the model")

    monkeypatch.setattr(export, "load_checkpoint", lambda path: (None, object(), {}))  # a silhouette model
    monkeypatch.setattr(export, "_export_silhouette", half)
    checkpoint = tmp_path / "run.pt"
    checkpoint.write_bytes(b"x")
    assert main(["export", str(checkpoint), str(tmp_path / "model.onnx")]) == 2
    assert "checker refused" in one_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_a_config_that_is_not_text(tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.yaml"
    config.write_bytes(b"model: \xff\xfe\n")
    assert main(["train", str(config)]) == 2
    assert "not a text file" in one_error(capsys)


# -- 5. a truncated file leaves no output --------------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return truncated_copy(WALK_VIDEO, tmp_path_factory.mktemp("cut") / "cut.mp4")


@pytest.mark.parametrize("command", ["track", "identify", "live"])
def test_a_truncated_file_leaves_no_output(command: str, truncated: Path, gallery: Path, env: Path, capsys) -> None:
    out = env / "out"
    out.mkdir()
    argv = [command, str(truncated), "--out", str(out / "a.mp4"), "--no-progress"]
    if command != "live":
        argv += ["--json", str(out / "a.json")]
    if command != "track":
        argv += ["--gallery", str(gallery)]
    assert main(argv) == 2
    error = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("gaitid: note:")]
    assert len(error) == 1 and "video is truncated: 29 of 161 frames" in error[0], error
    assert list(out.iterdir()) == []


# -- 6. order of the checks, grammar, --help -----------------------------------------------------------------


def test_identify_checks_the_input_before_the_gallery(gallery: Path, env: Path, capsys) -> None:
    assert main(["identify", str(env / "nothere.mp4"), "--gallery", str(gallery)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"gaitid: error: {env / 'nothere.mp4'}: no such file"], err


def test_one_track_is_one_track(env: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from test_cli_track import BrightBlobs

    video = env / "one.mp4"
    with VideoWriter(video, 10, 64, 48) as writer:
        for i in range(5):
            image = np.zeros((48, 64, 3), np.uint8)
            image[10:40, 5 + 2 * i : 15 + 2 * i] = 255
            writer.write(image)
    monkeypatch.setattr(identify_app, "default_estimator", lambda *a, **k: BrightBlobs())
    assert main(["track", str(video), "--no-progress"]) == 0
    assert capsys.readouterr().err.strip().endswith(", 1 track")


def test_one_person_in_the_gallery(gallery: Path, env: Path, capsys) -> None:
    assert main(["gallery", "list", "--gallery", str(gallery)]) == 0
    assert f"1 person in {gallery}" in capsys.readouterr().out
    assert main(["gallery", "export", str(env / "e.json"), "--gallery", str(gallery)]) == 0
    assert "exported 1 person (3 vectors)" in capsys.readouterr().out
    assert json.loads((env / "e.json").read_text())["people"][0]["name"] == "ada"


def _commands(parser: argparse.ArgumentParser, name: str = "gaitid") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb, command in action.choices.items():
                found += [(f"{name} {verb}", command), *_commands(command, f"{name} {verb}")]
    return found


COMMANDS = _commands(build_parser())


@pytest.mark.parametrize("name, command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_is_described_in_its_help(name: str, command: argparse.ArgumentParser) -> None:
    assert command.description, f"{name} --help has no description"
    assert " ".join(command.description.split()[:4]) in " ".join(command.format_help().split())


def test_a_database_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A gallery whose database refuses (locked by another writer for longer than the busy timeout, a full
    disk) is a one-line error with exit 2, not a traceback."""
    import sqlite3

    from gaitid.commands import gallery as gallery_app

    def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(gallery_app, "run_list", locked)
    assert main(["gallery", "list"]) == 2
    err = capsys.readouterr().err
    assert err == "gaitid: error: the gallery database: database is locked\n"
