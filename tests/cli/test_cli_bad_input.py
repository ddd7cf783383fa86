"""Hostile input to every command: each case must end with a one-line error on stderr, exit status 2, no
traceback, no output file left behind and no input file changed.

The cases are tables (command x what is wrong with its input, options or outputs). They run in-process
through `gaitid.cli.main` with stand-in pose estimators, so that a case that is wrongly accepted still ends
quickly; only the non-UTF-8 command lines run as real processes (Python decodes argv itself there).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from gaitid.cli import main
from gaitid.samples import WALK_VIDEO
from gaitid.types import Frame, FramePeople

ROOT = Path(__file__).resolve().parents[2]


class NoOne:
    """A stand-in for HumanPoseNN that finds nobody: runs need no model and take no time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def reset(self) -> None:
        pass

    def estimate(self, frame: Frame) -> FramePeople:
        return FramePeople(frame.index, frame.time, (), (frame.height, frame.width))

    estimate_image = estimate


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that declares `width` x `height` RGB pixels (its data is far too short for them)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def truncated_copy(source: Path, target: Path, keep: float = 0.3) -> Path:
    """`source` remuxed with its index first (so that it opens), then cut to `keep` of its bytes: a video
    that breaks off partway, as a download or a copy that was interrupted."""
    whole = target.with_name("whole-" + target.name)
    with av.open(str(source)) as src, av.open(str(whole), "w", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = whole.read_bytes()
    whole.unlink()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def _gallery(path: Path) -> None:
    """A gallery with one person enrolled under the shipped gait model (random vectors)."""
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.gallery import Gallery
    from gaitid.types import Embedding

    encoder = GaitEncoder()
    vectors = np.random.default_rng(0).normal(size=(3, encoder.dim)).astype(np.float32)
    with Gallery.open(path, key=None) as gallery:
        gallery.enroll("ada", [Embedding(v, encoder.model, 30) for v in vectors])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The inputs of the cases, by name (made once; the cases must leave them as they are)."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    made: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        made[name.replace(".", "_")] = d / name
        (d / name).write_bytes(data)

    garbage = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    text = b"this is not what it seems\n"
    video = WALK_VIDEO.read_bytes()
    for suffix in ("mp4", "png", "jpg", "onnx", "pt", "yaml", "toml", "json", "db"):
        put(f"empty.{suffix}", b"")
        put(f"garbage.{suffix}", garbage)
        put(f"text.{suffix}", text)
    for suffix in ("onnx", "pt", "yaml", "json", "db", "png"):
        put(f"video.{suffix}", video)
    put("walk.mp4", video)
    put("huge.png", png_header(60_000, 60_000))
    put("huge.mp4", b"YUV4MPEG2 W12000 H12000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))  # 144 megapixels
    put("wide.png", png_header(2**31 - 1, 1))
    put("bad.yaml", b"model: [unclosed\n")
    put("list.yaml", b"- a\n- b\n")
    put("notutf8.yaml", b"model: \xff\xfe\n")
    put("key", b"a long passphrase\n")
    ok, grey = cv2.imencode(".png", np.full((48, 64, 3), 128, np.uint8))
    put("grey.png", grey.tobytes())
    truncated_copy(WALK_VIDEO, d / "truncated.mp4")
    made["truncated_mp4"] = d / "truncated.mp4"
    (d / "folder").mkdir()
    (d / "folder" / "x").write_bytes(b"x")
    made["folder"] = d / "folder"
    made["missing"] = d / "missing"
    _gallery(d / "gallery.db")
    made["gallery"] = d / "gallery.db"
    assert main(["gallery", "export", str(d / "export.json"), "--gallery", str(d / "gallery.db")]) == 0
    made["export"] = d / "export.json"
    return {name: str(path) for name, path in made.items()}


@pytest.fixture(autouse=True)
def quiet_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Stand-in estimators, no real gallery or key of the user's, and a server that never starts."""
    from gaitid.commands import identify as identify_app
    from gaitid.pipeline import run as pipeline_run
    from gaitid.commands import pose as pose_app

    for module in (pipeline_run, identify_app):
        monkeypatch.setattr(module, "default_estimator", lambda *a, **k: NoOne())
    monkeypatch.setattr(pose_app, "HumanPoseNN", NoOne)
    monkeypatch.setenv("GAITID_GALLERY", str(tmp_path / "default" / "gallery.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for name in ("GAITID_GALLERY_KEY", "GAITID_GALLERY_KEY_FILE", "GAITID_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    import uvicorn

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server would have started")

    monkeypatch.setattr(uvicorn, "run", no_server)
    from gaitid.evaluation import crossview, kinect
    from gaitid.training import trainer

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the training or evaluation would have started")

    for module, name in [(trainer, "train"), (crossview, "evaluate_cross_view"), (kinect, "evaluate_kinect")]:
        monkeypatch.setattr(module, name, no_work)


# -- the cases: (id, argv); {name} is a file of `files`, {out} a fresh empty folder for the outputs ----------

UNWRITABLE = {
    "missing-folder-in-proc": "/proc/gaitid-none/{name}",
    "proc": "/proc/{name}",
    "a-folder": "{folder}",
    "under-a-file": "{text_mp4}/{name}",
    # a link to /dev/null in the test's folder, never /dev/null itself: as root, a regression would replace
    # the system's /dev/null with a file
    "a-device": "{device}",
}
# placeholders that stay placeholders until the case runs (the UNWRITABLE templates are filled twice)
_LATER = {key: "{" + key + "}" for key in ("folder", "text_mp4", "out", "device")}
BAD_VIDEOS = {
    "missing": "{missing}.mp4",
    "empty": "{empty_mp4}",
    "garbage": "{garbage_mp4}",
    "text": "{text_mp4}",
    "truncated": "{truncated_mp4}",
    "huge-frames": "{huge_mp4}",
    "folder": "{folder}",
    "name-too-long": "{out}/" + "n" * 300 + ".mp4",
    "name-with-a-newline": "{out}/two\nlines.mp4",
    "name-with-an-escape": "{out}/\x1b[2J\x1b[31mred.mp4",  # would clear the terminal
}
BAD_IMAGES = {
    "missing": "{missing}.png",
    "empty": "{empty_png}",
    "garbage": "{garbage_png}",
    "text": "{text_jpg}",
    "huge": "{huge_png}",
    "wide": "{wide_png}",
    "a-video": "{video_png}",
}
UNICODE_DIGITS = ["²", "¹²", "٣", "߁", "0²"]  # str.isdigit() is True for all; int() fails on some
HUGE = "9" * 30


def _cases() -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []

    def add(name: str, *argv: str) -> None:
        cases.append((name, list(argv)))

    # pose
    for what, path in {**BAD_VIDEOS, **BAD_IMAGES}.items():
        kind = "image" if path in BAD_IMAGES.values() else "video"
        add(f"pose-{kind}-{what}", "pose", path, "--json", "{out}/poses.json")
    for what, place in UNWRITABLE.items():
        add(f"pose-json-{what}", "pose", "{walk_mp4}", "--json", place.format(name="p.json", **_LATER))
        add(f"pose-out-{what}", "pose", "{walk_mp4}", "--out", place.format(name="p.mp4", **_LATER))
    add("pose-out-is-the-input", "pose", "{out}/../g.png", "--out", "{out}/../g.png")
    add("pose-out-wrong-suffix", "pose", "{walk_mp4}", "--out", "{out}/p.avi")
    add("pose-json-wrong-suffix", "pose", "{walk_mp4}", "--json", "{out}/p.txt")
    add("pose-bad-model", "pose", "{walk_mp4}", "--model", "huge")

    # track
    for what, path in BAD_VIDEOS.items():
        add(f"track-{what}", "track", path, "--json", "{out}/t.json", "--out", "{out}/t.mp4", "--no-progress")
    for digits in UNICODE_DIGITS:
        add(f"track-camera-{digits}", "track", digits, "--no-progress")
    add("track-camera-huge", "track", HUGE, "--no-progress")
    add("track-camera-negative", "track", "-1", "--no-progress")
    add("track-unsupported-url", "track", "gopher://camera/1", "--no-progress")
    for what, place in UNWRITABLE.items():
        add(f"track-json-{what}", "track", "{walk_mp4}", "--json", place.format(name="t.json", **_LATER))
        add(f"track-out-{what}", "track", "{walk_mp4}", "--out", place.format(name="t.mp4", **_LATER))
    add("track-json-is-the-input", "track", "{out}/../w.mp4", "--json", "{out}/../w.mp4")
    add("track-out-is-the-input", "track", "{out}/../w.mp4", "--out", "{out}/../w.mp4")
    for option, values in {
        "--detect-every": ["0", "-3", "²", HUGE + ".5"],
        "--threads": ["0", "-1", HUGE, "²"],
        "--open-timeout": ["0", "-1", "nan", "x"],
        "--give-up-after": ["0", "-inf", "nan"],
    }.items():
        for value in values:
            add(f"track{option}={value}", "track", "{walk_mp4}", option, value, "--no-progress")

    # identify, enroll, live, gallery cohort add: the pipeline's inputs and options
    pipelines = {
        "identify": ["identify", "{{video}}", "--gallery", "{gallery}"],
        "enroll": ["enroll", "ada", "{{video}}", "--gallery", "{out}/g.db"],
        "live": ["live", "{{video}}", "--gallery", "{gallery}"],
        "cohort": ["gallery", "cohort", "add", "{{video}}", "--gallery", "{out}/g.db"],
    }
    for command, argv in pipelines.items():
        for what, path in BAD_VIDEOS.items():
            add(f"{command}-{what}", *[a.replace("{{video}}", path) for a in argv], "--no-progress")
        good = [a.replace("{{video}}", "{walk_mp4}") for a in argv]
        options = {
            "--window": ["0", "-30", HUGE],
            "--stride": ["0", "-1", HUGE],
            "--detect-every": ["0"],
            "--threads": ["0", HUGE],
            "--max-fps": ["-15", "nan", "x"],
            "--weights": ["{missing}.onnx", "{text_onnx}", "{video_onnx}", "{empty_onnx}", "{folder}", "nonesuch"],
            "--key-file": ["{missing}", "{folder}", "{empty_db}"],
        }
        if command != "live":
            options["--frames"] = ["²:", "0:¹²", "٣:", "-5:", "10:5", "5", "a:b", f"{HUGE}:", ":0"]
        if command in ("identify", "live"):
            options["--fpir"] = ["nan", "-0.1", "1.5", "inf"]
        for option, values in options.items():
            for value in values:
                add(f"{command}{option}={value}", *good, option, value, "--no-progress")
        if command == "live":
            for digits in UNICODE_DIGITS:
                add(f"live-camera-{digits}", "live", digits, "--gallery", "{gallery}", "--no-progress")
    for what, gallery in {
        "missing": "{missing}.db",
        "text": "{text_db}",
        "video": "{video_db}",
        "folder": "{folder}",
        "garbage": "{garbage_db}",
    }.items():
        add(f"identify-gallery-{what}", "identify", "{walk_mp4}", "--gallery", gallery, "--no-progress")
    for what, place in UNWRITABLE.items():
        add(f"identify-json-{what}", "identify", "{walk_mp4}", "--gallery", "{gallery}", "--json",
            place.format(name="i.json", **_LATER), "--no-progress")
        add(f"identify-out-{what}", "identify", "{walk_mp4}", "--gallery", "{gallery}", "--out",
            place.format(name="i.mp4", **_LATER), "--no-progress")
        add(f"live-out-{what}", "live", "{walk_mp4}", "--gallery", "{gallery}", "--out",
            place.format(name="l.mp4", **_LATER), "--no-progress")
        if what != "a-device":
            add(f"enroll-gallery-{what}", "enroll", "ada", "{walk_mp4}", "--gallery",
                place.format(name="g.db", **_LATER), "--no-progress")
    add("identify-json-wrong-suffix", "identify", "{walk_mp4}", "--gallery", "{gallery}", "--json", "{out}/i.mp4")
    add("identify-out-wrong-suffix", "identify", "{walk_mp4}", "--gallery", "{gallery}", "--out", "{out}/i.json")
    for what, value in {"huge": HUGE, "negative": "-1", "unicode": "²"}.items():
        add(f"enroll--track={what}", "enroll", "ada", "{walk_mp4}", "--gallery", "{out}/g.db", "--track", value,
            "--no-progress")
    add("enroll-empty-name", "enroll", "", "{walk_mp4}", "--gallery", "{out}/g.db", "--no-progress")
    add("enroll-blank-name", "enroll", "  ", "{walk_mp4}", "--gallery", "{out}/g.db", "--no-progress")

    # demo
    for what, place in {**UNWRITABLE, "not-empty": "{folder}", "a-file": "{text_mp4}"}.items():
        add(f"demo-{what}", "demo", place.format(name="demo", **_LATER), "--no-progress")
    add("demo--window=0", "demo", "{out}/demo", "--window", "0", "--no-progress")
    add("demo--threads=huge", "demo", "{out}/demo", "--threads", HUGE, "--no-progress")
    add("demo--weights=text", "demo", "{out}/demo", "--weights", "{text_onnx}", "--no-progress")

    # gallery
    for verb in (["list"], ["show", "ada"], ["remove", "ada"], ["audit"], ["cohort", "show"], ["cohort", "clear"]):
        for what, gallery in {"text": "{text_db}", "video": "{video_db}", "folder": "{folder}", "garbage": "{garbage_db}"}.items():
            add(f"gallery-{'-'.join(verb)}-{what}", "gallery", *verb, "--gallery", gallery)
    add("gallery-show-nobody", "gallery", "show", "nobody", "--gallery", "{gallery}")
    for value in ("0", "-" + HUGE, "²"):
        add(f"gallery-audit--limit={value}", "gallery", "audit", "--gallery", "{gallery}", "--limit", value)
    for what, place in UNWRITABLE.items():
        add(f"gallery-export-{what}", "gallery", "export", place.format(name="e.json", **_LATER), "--gallery",
            "{gallery}")
    add("gallery-export-exists", "gallery", "export", "{text_json}", "--gallery", "{gallery}")
    for what, path in {
        "missing": "{missing}.json",
        "empty": "{empty_json}",
        "garbage": "{garbage_json}",
        "text": "{text_json}",
        "video": "{video_json}",
        "folder": "{folder}",
    }.items():
        add(f"gallery-import-{what}", "gallery", "import", path, "--gallery", "{out}/g.db")
    for what, place in UNWRITABLE.items():
        if what != "a-device":
            add(f"gallery-import-into-{what}", "gallery", "import", "{export}", "--gallery",
                place.format(name="g.db", **_LATER))

    # train
    configs = {
        "missing": "{missing}.yaml",
        "empty": "{empty_yaml}",
        "garbage": "{garbage_yaml}",
        "text": "{text_yaml}",
        "video": "{video_yaml}",
        "bad-yaml": "{bad_yaml}",
        "a-list": "{list_yaml}",
        "not-utf8": "{notutf8_yaml}",
        "toml-garbage": "{garbage_toml}",
        "folder": "{folder}",
    }
    for what, path in configs.items():
        add(f"train-config-{what}", "train", path)
    for value in ("people", "=3", "seed=[unclosed", "steps=3", "nosuch.key=1", "sampler.=2", "a.b.c=1"):
        add(f"train--set={value}", "train", "{empty_yaml}", "--set", value)
    for what, place in UNWRITABLE.items():
        if what != "a-folder":
            add(f"train--out-dir-{what}", "train", "{empty_yaml}", "--out-dir", place.format(name="run", **_LATER))

    # evaluate
    for what, weights in {"missing": "{missing}.onnx", "text": "{text_onnx}", "video": "{video_onnx}",
                          "checkpoint-text": "{text_pt}", "folder": "{folder}"}.items():
        add(f"evaluate-weights-{what}", "evaluate", "casia-b", "--weights", weights)
        add(f"evaluate-kinect-weights-{what}", "evaluate", "kinect", "--weights", weights)
    for value in ("²-³", "1-" + HUGE, "a-b", "3-1", "-5"):
        add(f"evaluate--subjects={value}", "evaluate", "casia-b", "--subjects", value)
        add(f"evaluate-kinect--subjects={value}", "evaluate", "kinect", "--subjects", value)
    for value in ("0", "-1", "²"):
        add(f"evaluate--max-frames={value}", "evaluate", "casia-b", "--max-frames", value)
        add(f"evaluate--threads={value}", "evaluate", "casia-b", "--threads", value)
    add("evaluate--threads=huge", "evaluate", "casia-b", "--threads", HUGE)
    add("evaluate--noise=negative", "evaluate", "kinect", "--noise", "-1")
    add("evaluate-unknown", "evaluate", "nonesuch")
    add("evaluate--device=cuda-onnx", "evaluate", "casia-b", "--device", "cuda")
    add("evaluate-kinect--device=cuda", "evaluate", "kinect", "--device", "cuda")
    add("evaluate--device=tpu", "evaluate", "casia-b", "--device", "tpu")
    for what, place in UNWRITABLE.items():
        add(f"evaluate-json-{what}", "evaluate", "casia-b", "--json", place.format(name="r.json", **_LATER))

    # export
    for what, checkpoint in {"missing": "{missing}.pt", "empty": "{empty_pt}", "text": "{text_pt}",
                             "video": "{video_pt}", "a-video-mp4": "{walk_mp4}", "folder": "{folder}",
                             "onnx": "{garbage_onnx}"}.items():
        add(f"export-{what}", "export", checkpoint, "{out}/m.onnx")
    add("export-two-texts", "export", "{text_pt}", "{garbage_pt}", "{out}/m.onnx")
    add("export-int8-garbage", "export", "{garbage_onnx}", "{out}/m.onnx", "--int8")
    add("export-int8-empty", "export", "{empty_pt}", "{out}/m.onnx", "--int8")
    for weights in ("1", "0,1", "nan,1", "a,b", ""):
        add(f"export-member-weights={weights}", "export", "{garbage_onnx}", "{garbage_onnx}", "{out}/m.onnx",
            "--member-weights", weights)
    for what, place in UNWRITABLE.items():
        add(f"export-out-{what}", "export", "{text_pt}", place.format(name="m.onnx", **_LATER))

    # serve (the server never starts: uvicorn.run is replaced)
    for option, values in {
        "--port": ["0", "-1", "65536", HUGE, "²"],
        "--max-upload-mb": ["0", "-1", "nan", "inf"],
        "--token-file": ["{missing}", "{folder}", "{empty_db}"],
        "--gallery": ["{text_db}", "{folder}"],
        "--fpir": ["nan", "2"],
        "--work-dir": ["/proc/gaitid-none", "{text_mp4}"],
    }.items():
        for value in values:
            add(f"serve{option}={value}", "serve", option, value)
    return cases


CASES = _cases()


def _fill(argv: list[str], files: dict[str, str], out: Path) -> list[str]:
    return [arg.format(out=str(out), device=str(out.parent / "device"), **files) for arg in argv]


def _stderr_lines(text: str) -> list[str]:
    """The lines of stderr as a terminal shows them (progress bars redraw with carriage returns)."""
    lines = (line.rsplit("\r", 1)[-1] for line in text.split("\n"))
    return [line for line in lines if line.strip()]


def _state(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def _check(status: int, stdout: str, stderr: str, out: Path) -> None:
    assert "Traceback" not in stdout + stderr, stderr
    lines = [line for line in _stderr_lines(stderr) if not line.startswith("gaitid: note: ")]
    assert status == 2, (status, lines)
    assert len(lines) == 1 and lines[0].startswith("gaitid: error: "), lines
    assert list(out.iterdir()) == [], "an output was left behind"


@pytest.mark.parametrize("argv", [argv for _, argv in CASES], ids=[name for name, _ in CASES])
def test_bad_input(argv: list[str], files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(files["walk_mp4"], tmp_path / "w.mp4")
    shutil.copy(files["grey_png"], tmp_path / "g.png")
    (tmp_path / "device").symlink_to("/dev/null")
    inputs = Path(files["walk_mp4"]).parent
    before = _state(inputs)
    try:
        status = main(_fill(argv, files, out))
    except SystemExit as exit:  # a usage error found by argparse
        status = exit.code
    captured = capsys.readouterr()
    _check(status, captured.out, captured.err, out)
    assert _state(inputs) == before, "an input was changed"
    assert (tmp_path / "w.mp4").read_bytes() == Path(files["walk_mp4"]).read_bytes()
    assert (tmp_path / "g.png").read_bytes() == Path(files["grey_png"]).read_bytes()
    assert (tmp_path / "device").is_symlink() and (tmp_path / "device").is_char_device()


# -- command lines that are not UTF-8: as a shell passes them, to a real process ---------------------------

_RUNNER = """
import sys
sys.path.insert(0, {tests!r})
from test_cli_bad_input import NoOne
from gaitid.commands import identify as app
from gaitid.pipeline import run
from gaitid.commands import pose as pose_app
run.default_estimator = app.default_estimator = lambda *a, **k: NoOne()
pose_app.HumanPoseNN = NoOne
from gaitid.cli import main
sys.exit(main())
"""

NOT_UTF8 = [
    ("pose-missing", [b"pose", b"{d}/\xff.png"]),
    ("pose-garbage", [b"pose", b"{d}/garbage-\xff.png"]),
    ("pose-json", [b"pose", b"{d}/garbage-\xff.png", b"--json", b"/proc/\xff/p.json"]),
    ("track-text", [b"track", b"{d}/text-\xff.mp4", b"--no-progress"]),
    ("track-truncated", [b"track", b"{d}/cut-\xff.mp4", b"--out", b"{d}/out-\xff.mp4", b"--no-progress"]),
    ("identify-missing", [b"identify", b"\xff.mp4", b"--gallery", b"{d}/\xff.db"]),
    ("gallery-show", [b"gallery", b"show", b"\xff", b"--gallery", b"{d}/\xfe.db"]),
    ("export", [b"export", b"\xff.pt", b"{d}/\xff.onnx"]),
    ("frames", [b"identify", b"{d}/walk.mp4", b"--frames", b"\xff:", b"--gallery", b"{d}/\xfe.db"]),
]


@pytest.fixture(scope="module")
def odd_names(tmp_path_factory: pytest.TempPathFactory, files: dict[str, str]) -> bytes:
    d = tmp_path_factory.mktemp("odd")
    folder = os.fsencode(d)
    (d / "walk.mp4").write_bytes(WALK_VIDEO.read_bytes())
    Path(os.fsdecode(folder + b"/garbage-\xff.png")).write_bytes(b"\x89PNG garbage")
    Path(os.fsdecode(folder + b"/text-\xff.mp4")).write_text("not a video")
    shutil.copy(files["truncated_mp4"], os.fsdecode(folder + b"/cut-\xff.mp4"))
    _gallery(Path(os.fsdecode(folder + b"/\xfe.db")))
    return folder


def _run_bytes(argv: list[bytes], cwd: Path, stand_in: bool = True) -> subprocess.CompletedProcess[bytes]:
    import gaitid

    src = Path(gaitid.__file__).resolve().parents[1]  # the gaitid under test, wherever it was imported from
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(Path(__file__).parent), str(ROOT / "tests")]))
    env["GAITID_GALLERY"] = str(cwd / "default.db")
    for name in ("GAITID_GALLERY_KEY", "GAITID_GALLERY_KEY_FILE"):
        env.pop(name, None)
    program = ["-c", _RUNNER.format(tests=str(Path(__file__).parent))] if stand_in else ["-m", "gaitid"]
    return subprocess.run([sys.executable, *program, *argv], capture_output=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.parametrize(
    "argv", [pytest.param(argv, id=name) for name, argv in NOT_UTF8]
)
def test_arguments_that_are_not_utf8(argv: list[bytes], odd_names: bytes, tmp_path: Path) -> None:
    before = sorted(os.listdir(odd_names))
    result = _run_bytes([a.replace(b"{d}", odd_names) for a in argv], tmp_path)
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    out = tmp_path / "out"
    out.mkdir()
    _check(result.returncode, stdout, stderr, out)
    assert sorted(os.listdir(odd_names)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_enrolling_a_name_that_is_not_utf8(odd_names: bytes, tmp_path: Path) -> None:
    """A non-UTF-8 name on the command line is refused in one line, and nothing is enrolled (the real pose
    model on 40 frames: a walker that could be enrolled, so that the name is what fails)."""
    gallery = tmp_path / "g.db"
    argv = [b"enroll", b"\xff", odd_names + b"/walk.mp4", b"--gallery", os.fsencode(gallery), b"--frames", b"0:40",
            b"--track", b"2", b"--model", b"lite", b"--no-progress"]
    result = _run_bytes(argv, tmp_path, stand_in=False)
    stderr = result.stderr.decode(errors="replace")
    assert "Traceback" not in stderr and result.returncode == 2
    assert len(_stderr_lines(stderr)) == 1
    if gallery.exists():
        from gaitid.gallery import Gallery

        with Gallery.open(gallery, key=None) as opened:
            assert opened.people() == []
