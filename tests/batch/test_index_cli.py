"""gaitid index and gaitid search on real video: the sample clip that ships in the package (one walker),
twice under two cameras, and a broken file; then the commands' answers to bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gaitid.batch import IndexFolder
from gaitid.cli import main

@pytest.fixture(scope="module")
def indexed(sample_index: tuple[Path, Path, int]) -> tuple[Path, Path]:
    root, index, code = sample_index
    assert code == 2  # the broken file failed; the others were indexed
    return root, index


def test_every_video_is_indexed_once_and_a_failure_is_recorded(indexed: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    root, index = indexed
    records = {Path(r.video).name: r for r in IndexFolder(index).records().values()}
    assert sorted(records) == ["broken.mp4", "part0.mp4", "part1.mp4", "part2.mp4"]
    assert records["broken.mp4"].status == "failed" and "broken.mp4" in records["broken.mp4"].error
    assert records["part0.mp4"].status == "done" and records["part0.mp4"].camera == "gate"
    assert records["part1.mp4"].camera == "hall" and [records[f"part{i}.mp4"].frames for i in range(3)] == [28, 28, 26]
    tracks = IndexFolder(index).all_tracks(["video", "track", "windows", "thumbnail"]).to_pylist()
    assert len(tracks) == sum(records[f"part{i}.mp4"].tracks for i in range(3)) >= 3
    walked = [t for t in tracks if t["windows"]]
    assert walked and all(t["thumbnail"][:2] == b"\xff\xd8" for t in walked)  # JPEG thumbnails
    # a rerun does nothing again, and still says what failed
    capsys.readouterr()
    assert main(["index", str(root), "--index", str(index), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "4 videos already indexed: skipped" in err and "failed when indexed before" in err
    assert len(IndexFolder(index).all_tracks(["track"])) == len(tracks)


def test_the_progress_bar_counts_bytes_of_video_and_videos(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Its time left holds for archives of videos of any length: a long video weighs what its file weighs."""
    (tmp_path / "cam").mkdir()
    (tmp_path / "cam" / "short.mp4").write_bytes(b"\x00" * 1000)
    (tmp_path / "cam" / "long.mp4").write_bytes(b"\x00" * 3000)
    assert main(["index", str(tmp_path / "cam"), "--index", str(tmp_path / "idx"), "--workers", "1"]) == 2  # neither reads
    last = capsys.readouterr().err.replace("\r", "\n").split("\n")
    bars = [line for line in last if "videos]" in line]
    assert bars and "2/2 videos" in bars[-1] and "3.91k/3.91k" in bars[-1] and "100%" in bars[-1]


def test_search_for_a_track_finds_the_walker_again_under_the_other_camera(indexed: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root, index = indexed
    tracks = IndexFolder(index).all_tracks(["video", "track", "windows"]).to_pylist()
    longest = max((t for t in tracks if t["video"].endswith("/part0.mp4")), key=lambda t: t["windows"])
    out_json, out_html = tmp_path / "found.json", tmp_path / "found.html"
    code = main([
        "search", "--index", str(index), "--video", str(root / "gate" / "part0.mp4"), "--track", str(longest["track"]),
        "--json", str(out_json), "--html", str(out_html),
    ])
    assert code == 0
    document = json.loads(out_json.read_text())
    first = document["appearances"][0]
    assert first["camera"] == "hall" and first["video"].endswith(("part1.mp4", "part2.mp4")) and first["score"] >= 0.99
    assert first["thumbnail"].startswith("data:image/jpeg;base64,")
    assert all(not (a["video"].endswith("/part0.mp4") and a["track"] == longest["track"]) for a in document["appearances"])
    assert document["complete"] is True
    assert "<figure>" in out_html.read_text() and Path(first["video"]).name in out_html.read_text()
    assert "no more appearances" in capsys.readouterr().err


def test_an_index_made_before_walkers_were_turned_is_searched_with_a_note_and_not_added_to(indexed: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root, index = indexed
    old = tmp_path / "old.idx"
    shutil.copytree(index, old)
    settings = json.loads((old / "index.json").read_text())
    del settings["walkers_turned"]  # as index.json was written before walkers were turned
    (old / "index.json").write_text(json.dumps(settings))
    track = max(IndexFolder(old).all_tracks(["video", "track", "windows"]).to_pylist(), key=lambda t: t["windows"])
    capsys.readouterr()
    assert main(["search", "--index", str(old), "--video", track["video"], "--track", str(track["track"])]) == 0
    assert "before walkers crossing the image left to right were turned" in capsys.readouterr().err
    assert main(["index", str(root), "--index", str(old), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "were turned to the gait model's direction" in err and "index into a new folder" in err
    assert "Traceback" not in err


def test_search_for_the_walker_of_a_new_clip_runs_it_through_the_pipeline(indexed: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root, index = indexed
    clip = tmp_path / "suspect.mp4"  # not in the index: the same footage as gate/part0.mp4 under another name
    shutil.copyfile(root / "gate" / "part0.mp4", clip)
    assert main(["search", "--index", str(index), "--video", str(clip)]) == 2  # two walkers: which one?
    err = capsys.readouterr().err
    assert "suspect.mp4 is not in the index" in err
    assert "2 walkers were seen long enough" in err and "with --track ID" in err
    # which walker the tracker numbers first moves with the CPU's float rounding (detections' order)
    assert re.search(r"track \d+: frames 0-54", err), err
    tracks = IndexFolder(index).all_tracks(["video", "track", "windows"]).to_pylist()
    longest = max((t for t in tracks if t["video"].endswith("/part0.mp4")), key=lambda t: t["windows"])
    out_json = tmp_path / "found.json"
    argv = ["search", "--index", str(index), "--video", str(clip), "--track", str(longest["track"]), "--json", str(out_json)]
    assert main(argv) == 0
    assert "no more appearances" in capsys.readouterr().err
    appearances = json.loads(out_json.read_text())["appearances"]
    first = appearances[0]  # the same walker's indexed copy
    assert first["video"].endswith("/gate/part0.mp4") and first["track"] == longest["track"] and first["score"] >= 0.99
    assert any(a["camera"] == "hall" for a in appearances)  # and again under the other camera
    assert not any("suspect" in r.video for r in IndexFolder(index).records().values())  # the index is unchanged


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "--index", "{index}"], "give one of --person NAME, --video FILE [--track ID] or --vector FILE"),
        (["search", "--index", "{index}", "--person", "a", "--vector", "v.npy"], "give one of"),
        (["search", "--index", "{index}", "--person", "a", "--track", "1"], "--track goes with --video"),
        (["search", "--index", "{index}", "--video", "{tmp}/x.mp4"], "x.mp4"),
        (["search", "--index", "{index}", "--video", "{tmp}/q.npy", "--track", "1"], "not a readable video"),
        (["search", "--index", "{index}", "--video", "{root}/gate/part0.mp4", "--track", "99"], "has no track 99"),
        (["search", "--index", "{index}", "--vector", "{tmp}/none.npy"], "none.npy: no such file"),
        (["search", "--index", "{index}", "--vector", "{tmp}/q.npy", "--top", "0"], "--top must be at least 1"),
        (["search", "--index", "{index}", "--vector", "{tmp}/q.npy", "--json", "{tmp}/out.txt"], "must end in .json"),
        (["search", "--index", "{tmp}", "--vector", "{tmp}/q.npy"], "not a gaitid index"),
        (["index", "{tmp}/nothing-here", "--index", "{tmp}/i"], "no such file or folder"),
        (["index", "{tmp}", "--index", "{tmp}/i", "--workers", "0"], "--workers must be at least 1"),
        (["index", "{tmp}", "--index", "{tmp}/q.npy"], "not a folder"),
        (["index", "{tmp}", "--index", "{tmp}/busy"], "a folder that is not a gaitid index"),
    ],
)
def test_bad_input_is_one_line_and_status_2(indexed: tuple[Path, Path], tmp_path: Path, capsys, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    np.save(tmp_path / "q.npy", np.ones(4, np.float32))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("x")
    argv = [a.format(index=indexed[1], tmp=tmp_path, root=indexed[0]) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gaitid: error: ") and err.count("\n") == 1 and message in err
