"""End to end on real footage: `gaitid enroll`, `gaitid identify` and `gaitid live` with the real models.

The footage is the shipped sample clip (gaitid/samples/walk.mp4): a woman walks right to left while a man
jumps on a box. Both are enrolled from the first 80 frames; the woman is then identified in frames 80 on,
and in the same frames mirrored (walking the other way).
Stranger checks use walkers of vtest.avi (when the shared media are there): with only the woman enrolled,
vtest's walkers are unknown; with only the jumper and two vtest walkers enrolled, the woman should come out
unknown, and does not yet (a strict expected failure, explained at that test).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from gaitid.cli import main
from gaitid.pipeline import LABEL_LEGEND, walker_label
from gaitid.pipeline.sheet import CROP_HEIGHT
from gaitid.samples import WALK_VIDEO
from gaitid.sources import VideoFile
from streams import MjpegCamera, free_port

SAMPLE = str(WALK_VIDEO)
WALKER, JUMPER = 2, 1  # their tracks over frames 0:80 (the jumper, first in view, is found first)


def gaitid(*args: str, gallery: Path) -> int:
    return main([*args, "--gallery", str(gallery), "--no-progress"])


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gallery") / "gallery.db"
    assert gaitid("enroll", "walker", SAMPLE, "--frames", "0:80", "--track", str(WALKER), gallery=path) == 0
    assert gaitid("enroll", "jumper", SAMPLE, "--frames", "0:80", "--track", str(JUMPER), gallery=path) == 0
    return path


def test_the_walker_is_identified_in_the_rest_of_the_clip(gallery: Path, tmp_path: Path, capsys) -> None:
    js, out = tmp_path / "result.json", tmp_path / "annotated.mp4"
    assert gaitid("identify", SAMPLE, "--frames", "80:", "--json", str(js), "--out", str(out), gallery=gallery) == 0
    result = json.loads(js.read_text())
    # 81 frames of a 30 frames/s clip, every 2nd analysed (at most 15 a second, the default)
    assert (result["frames"], result["frames_read"]) == (41, 81) and result["model"].startswith("gaitset_strips_s/")
    walkers = [t for t in result["tracks"] if t["windows"] > 0]
    assert len(walkers) == 1, result["tracks"]
    walker = walkers[0]
    assert walker["status"] == "identified" and walker["name"] == "walker"
    assert walker["candidates"][0][0] == "walker" and walker["score"] >= 0.99
    assert walker["history"] and walker["history"][-1]["name"] == "walker"
    assert walker["first_frame"] >= 80 and walker["usable_frames"] >= 20
    # Everyone else was seen too briefly to say, and is reported so, with the frames needed.
    for track in result["tracks"]:
        if track is not walker:
            assert track["status"] == "too_short" and track["name"] is None and "needs 20" in track["reason"]
    with VideoFile(out) as annotated:
        assert annotated.frame_count == 41 and (annotated.width, annotated.height) == (960, 540)
    printed = capsys.readouterr().out
    assert "walker (score" in printed and "of strangers score as high" in printed and "too short" in printed


def mirrored(video: str, out: Path) -> Path:
    """The video with every frame flipped left-right (lossless), as if filmed from the other side."""
    with VideoFile(video) as source:
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"FFV1"), source.fps, (source.width, source.height))
        for frame in source:
            writer.write(np.ascontiguousarray(frame.image[:, ::-1, ::-1]))  # mirrored, RGB to BGR
    writer.release()
    return out


def test_the_walker_is_named_walking_the_other_way(gallery: Path, tmp_path: Path) -> None:
    """Enrolled walking right to left (the first 80 frames), the woman is named in the rest of the clip
    mirrored, walking left to right. The silhouette model was trained on walkers crossing one way only and
    finds nobody crossing the other way; the encoder turns such walks round (gaitid.gait.normalize)."""
    js = tmp_path / "result.json"
    back = mirrored(SAMPLE, tmp_path / "mirrored.avi")
    assert gaitid("identify", str(back), "--frames", "80:", "--json", str(js), gallery=gallery) == 0
    walker, *others = sorted(json.loads(js.read_text())["tracks"], key=lambda t: -t["windows"])
    assert walker["status"] == "identified" and walker["name"] == "walker" and walker["windows"] >= 2, walker
    assert [answer["name"] for answer in walker["history"]] == ["walker"] * len(walker["history"])
    # The jumper gets a window of his own in the mirrored frames: he is not taken for her.
    assert all(t["name"] != "walker" for t in others if t["windows"] > 0), others


def test_one_enrolled_person_is_named_and_strangers_are_unknown(tmp_path: Path, media_dir: Path, capsys) -> None:
    """Verification from a single enrolment: the scores are calibrated on the cohort shipped with the model,
    so one person enrolled is enough to name her in the rest of the clip, and to say that the walkers of
    another video (vtest.avi) are not her."""
    one = tmp_path / "one.db"
    assert gaitid("enroll", "walker", SAMPLE, "--frames", "0:80", "--track", str(WALKER), gallery=one) == 0
    mine, theirs = tmp_path / "mine.json", tmp_path / "theirs.json"
    assert gaitid("identify", SAMPLE, "--frames", "80:", "--json", str(mine), gallery=one) == 0
    walker = next(t for t in json.loads(mine.read_text())["tracks"] if t["windows"] > 0)
    assert walker["status"] == "identified" and walker["name"] == "walker" and walker["fpir"] <= 0.01
    assert walker["fpir"] == pytest.approx(1 - walker["score"], abs=1e-3)
    vtest = str(media_dir / "vtest.avi")
    assert gaitid("identify", vtest, "--frames", "0:200", "--json", str(theirs), gallery=one) == 0
    result = json.loads(theirs.read_text())
    assert result["calibration"] == {
        "target_fpir": 0.01, "source": "cohort", "cohort": "shipped", "site_walkers": 0,
        "enrolled_null": False, "normalisation": "s-norm, top 0.1", "footage_null": True,
    }
    strangers = [t for t in result["tracks"] if t["windows"] > 0]
    assert len(strangers) >= 3 and all(t["status"] == "unknown" and t["fpir"] > 0.01 for t in strangers), strangers
    assert "unreliable" not in capsys.readouterr().err  # the cohort calibrates: no small-gallery warning


@pytest.mark.xfail(
    strict=True,
    reason="known defect (issues 14/15): a stranger filmed by the same camera as an enrolled person is named "
    "without a site cohort; gaitset_strips_s/8 (windows of 20 at 15 a second) names the walker 'jumper' at both "
    "her windows (0.35-0.45 % estimated FPIR, 2026-12-06; 3 people enrolled, too few for the enrolled people's "
    "null), /6 did too (0.2-0.3 %), /5 at every window, /4 named her 'jumper' after her first window and let her "
    "go by her third; the footage null changes nothing here: she is the only walker of frames 80: with a window, "
    "so there is no footage",
)
def test_a_stranger_on_the_same_camera_comes_out_unknown(gallery: Path, tmp_path: Path, media_dir: Path) -> None:
    """The walker is not enrolled (only the jumper, filmed by the same camera, and two vtest walkers are): she
    must be unknown at every window of her walk. This is what a user expects and what the decision does not
    yet deliver: calibrated on the laboratory cohort alone, two walkers of the same outdoor camera resemble
    each other more than either resembles a laboratory walker. The jumper's only walking window (along the
    box top, side-on, backlit) is what she matches. benchmarks/identify_vtest.py measures the same failure
    over many strangers (vtest, shipped cohort only: 30-55 % of strangers named at a 1 % target with version
    5, 34-64 % with version 4); the README tells users to add a site cohort. Strict: when a change makes this
    pass, the marker must go."""
    from gaitid.gait.encoder import GaitEncoder
    from gaitid.gallery import Gallery
    from gaitid.pipeline import PipelineOptions, analyse
    from gaitid.pipeline.walkers import Walkers

    strangers = tmp_path / "strangers.db"
    assert gaitid("enroll", "jumper", SAMPLE, "--frames", "0:80", "--track", str(JUMPER), gallery=strangers) == 0
    encoder = GaitEncoder()
    seen = Walkers(encoder)
    analyse(str(media_dir / "vtest.avi"), seen, PipelineOptions(progress=False, frames=(0, 200)))
    longest = sorted(seen.states.values(), key=lambda s: -len(s.vectors))[:2]
    with Gallery.open(strangers) as g:
        for state in longest:
            g.enroll(f"vtest{state.track_id}", state.embeddings(encoder.model, 30))
    js = tmp_path / "result.json"
    assert gaitid("identify", SAMPLE, "--frames", "80:", "--json", str(js), gallery=strangers) == 0
    walker = next(t for t in json.loads(js.read_text())["tracks"] if t["windows"] > 0)
    assert [answer["name"] for answer in walker["history"]] == [None] * len(walker["history"]), walker["history"]
    assert walker["status"] == "unknown" and walker["name"] is None
    assert walker["score"] < 0.99  # below the threshold of a 1 % false-accept target


def test_enrolment_needs_a_choice_when_several_walk(gallery: Path, capsys) -> None:
    assert gaitid("enroll", "someone", SAMPLE, "--frames", "0:80", gallery=gallery) == 2
    error = capsys.readouterr().err
    assert "2 walkers were seen long enough for a gait window" in error and "--track" in error and "track 2: frames 0-78" in error


def test_enrolment_of_a_walk_too_short_says_how_much_is_needed(gallery: Path, capsys) -> None:
    assert gaitid("enroll", "someone", SAMPLE, "--frames", "0:20", gallery=gallery) == 2
    error = capsys.readouterr().err
    assert "20 are needed" in error and "Traceback" not in error


def test_enrolment_of_a_missing_track(gallery: Path, capsys) -> None:
    assert gaitid("enroll", "someone", SAMPLE, "--frames", "0:40", "--track", "99", gallery=gallery) == 2
    assert "no track 99" in capsys.readouterr().err


def test_identify_without_a_gallery_fails_before_reading_the_video(tmp_path: Path, capsys) -> None:
    assert gaitid("identify", SAMPLE, gallery=tmp_path / "none.db") == 2
    assert "enrol people first" in capsys.readouterr().err


def test_identify_rejects_what_is_not_a_video(gallery: Path, tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    out = tmp_path / "annotated.mp4"
    assert gaitid("identify", str(text), "--out", str(out), gallery=gallery) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("frames", ["10:5", "a:b", "5"])
def test_bad_frame_ranges(gallery: Path, frames: str, capsys) -> None:
    assert gaitid("identify", SAMPLE, "--frames", frames, gallery=gallery) == 2
    assert "--frames" in capsys.readouterr().err


def test_live_camera_events_and_a_camera_that_dies(gallery: Path) -> None:
    """`gaitid live` on an IP camera filming the sample clip: the walker is announced by name while she
    walks; when the camera dies for good the run ends with the error, after the events up to then and a
    "left" event for everyone still in view."""
    from gaitid.errors import InputError
    from gaitid.commands.identify import PipelineOptions, run_live
    from gaitid.sources import LiveOptions

    camera = MjpegCamera(free_port(), fps=10.0, video=WALK_VIDEO)  # slower than the pipeline: no frame lost
    camera.start()
    events = io.StringIO()

    class KillAfter:
        """Passes the clip's frames to the pipeline and kills the camera after its last one."""

        def __init__(self) -> None:
            from gaitid.pipeline import default_estimator

            self.inner = default_estimator()
            self.calls = 0

        def reset(self) -> None:
            self.inner.reset()

        def estimate(self, frame):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 150:
                camera.kill()
            return self.inner.estimate(frame)

    options = PipelineOptions(progress=False, live=LiveOptions(open_timeout=2.0, give_up_after=1.0, backoff_start=0.1))
    try:
        with pytest.raises(InputError, match="giving up"):
            run_live(camera.url, options, gallery_path=str(gallery), json_lines=True, estimator=KillAfter(), stream=events)
    finally:
        camera.kill()
    lines = [json.loads(line) for line in events.getvalue().splitlines()]
    named = [e for e in lines if e["event"] == "identified" and e["name"] == "walker"]
    assert named, lines
    assert {e["track"] for e in lines if e["event"] == "left"} >= {named[0]["track"]}
    assert all(e["name"] in (None, "walker") for e in lines if e["track"] == named[0]["track"])


def test_the_demo_enrols_and_identifies_on_the_sample_clip(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "enrolled person-1" in printed and "enrolled person-2" in printed
    result = json.loads((out / "identified.json").read_text())
    named = [t for t in result["tracks"] if t["status"] == "identified"]
    assert [t["name"] for t in named] == [f"person-{WALKER}"]
    assert (out / "identified.mp4").stat().st_size > 10_000 and (out / "gallery.db").is_file()
    sheet = cv2.imread(str(out / "enrolled.jpg"))
    assert sheet.shape[0] > 2 * CROP_HEIGHT, "the contact sheet has a row for each of the two people enrolled"
    assert "who they are: " in printed and "share of strangers" in printed
    assert (out / "legend.txt").read_text().splitlines() == list(LABEL_LEGEND)
    assert main(["demo", str(out), "--no-progress"]) == 2  # never writes over an earlier demo


def test_a_frame_range_past_the_end_is_an_error(gallery: Path, capsys) -> None:
    assert gaitid("identify", SAMPLE, "--frames", "500:", gallery=gallery) == 2
    assert "no frame in the range 500:" in capsys.readouterr().err


def test_gallery_cohort_add_show_and_clear(tmp_path: Path, capsys) -> None:
    path = tmp_path / "g.db"
    assert gaitid("gallery", "cohort", "add", SAMPLE, "--frames", "0:80", gallery=path) == 0
    assert "added 2 walkers" in capsys.readouterr().out
    assert main(["gallery", "cohort", "show", "--gallery", str(path)]) == 0
    assert "2 walkers" in capsys.readouterr().out
    assert main(["gallery", "cohort", "clear", "--gallery", str(path)]) == 0
    assert main(["gallery", "cohort", "show", "--gallery", str(path)]) == 0
    assert "no site cohort" in capsys.readouterr().out


def test_the_legend_explains_every_kind_of_label() -> None:
    """Each label walker_label draws has a line of LABEL_LEGEND of the same shape (a new kind of label must
    be explained)."""
    import re

    from gaitid.gallery.evidence import TrackEvidence
    from gaitid.pipeline.walkers import Answer, WalkerState, WindowSpec
    from gaitid.types import Identity

    def state(**fields) -> WalkerState:
        return WalkerState(track_id=3, first_frame=0, first_time=0.0, last_frame=9, last_time=0.3, **fields)

    named = state(history=[Answer(9, 0.3, 1, Identity(name="ada", score=0.99, candidates=()))])
    unknown = state(history=[Answer(9, 0.3, 1, Identity(name=None, score=0.42, candidates=()))])
    gathering = state()
    gathering.recent.extend([None] * 12)
    enrolling = state(evidence=TrackEvidence("m"))
    enrolling.evidence.add(np.ones(4, np.float32))
    enrolling.evidence.add(np.ones(4, np.float32))
    window = WindowSpec()
    shapes = {re.sub(r"\d+(\.\d+)?", "N", line.split("  ")[0]) for line in LABEL_LEGEND[1:]}
    for label in (walker_label(s, window) for s in (named, unknown, gathering, enrolling)):
        assert re.sub(r"\d+(\.\d+)?", "N", label) in shapes, (label, shapes)


@pytest.mark.parametrize("rate", [(), ("--max-fps", "0")], ids=["default-rate", "every-frame"])
def test_enrol_advice_works_the_track_numbers_of_gaitid_track_are_the_ones_enroll_means(
    tmp_path: Path, capsys, rate: tuple[str, ...]
) -> None:
    """Enrolling from a clip with two walkers lists their tracks and points to `gaitid track ... --frames`
    (and `--max-fps` when another rate than the default was given): that command exists, and at the same
    settings its track numbers and spans are the ones enroll listed."""
    import re

    assert gaitid("enroll", "someone", SAMPLE, "--frames", "0:80", *rate, gallery=tmp_path / "g.db") == 2
    advice = capsys.readouterr().err
    assert "gaitid track VIDEO --out tracked.mp4" in advice and "--frames" in advice
    assert ("--max-fps" in advice) == bool(rate)
    listed = {int(t): (int(a), int(b)) for t, a, b in re.findall(r"track (\d+): frames (\d+)-(\d+)", advice)}
    js = tmp_path / "tracks.json"
    assert main(["track", SAMPLE, "--frames", "0:80", *rate, "--json", str(js), "--no-progress"]) == 0
    tracked = {t["id"]: (t["frames"][0], t["frames"][-1]) for t in json.loads(js.read_text())["tracks"]}
    assert listed and all(tracked[track] == span for track, span in listed.items()), (listed, tracked)


@pytest.mark.parametrize("modality", ["skeleton", "fused"])
def test_other_modalities_enrol_their_own_vectors_and_ask_for_a_cohort(tmp_path: Path, modality: str, capsys) -> None:
    """`--modality` reaches the whole pipeline: the walker's vectors are the skeleton model's (or fused),
    and identification, which has no shipped cohort for them, asks for one in a line instead of guessing."""
    from gaitid.gallery import Gallery

    gallery = tmp_path / "g.db"
    assert gaitid("enroll", "walker", SAMPLE, "--frames", "0:80", "--track", str(WALKER), "--modality", modality,
                  "--model", "lite", gallery=gallery) == 0
    with Gallery.open(gallery) as g:
        models = {v.model for v in g.person("walker").vectors}
    assert len(models) == 1
    (model,) = models
    assert model.startswith("skelnn_") if modality == "skeleton" else model.startswith("fused[gaitset_strips_s/")
    capsys.readouterr()
    assert gaitid("identify", SAMPLE, "--frames", "80:", "--modality", modality, "--model", "lite", gallery=gallery) == 2
    assert "cohort" in capsys.readouterr().err
