"""Search of an archive index through the API (`gaitid serve --index PATH --archive DIR`): the queries, the
results, the videos played with range requests and signed links, and the errors, which never show a path.

The index is the `archive` fixture's (conftest.py): the sample clip's two walkers in the sample clip itself
(in the archive folder, playable), in a copy outside the archive folder and behind a link that leads out of
it (neither may be played), among strangers' tracks made of the shipped cohort's CASIA-B vectors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from server_helpers import AUTH, SEARCH_FPIR, TOKEN, WALKER_TRACK, wait_job

from server_helpers import index_track, index_video

from gaitid.batch import IndexFolder, IndexSettings, update_vectors
from gaitid.errors import GaitidError
from gaitid.server import ServerSettings, create_app

def _client(client_for, make_gallery, indexed, **changes):  # type: ignore[no-untyped-def]
    options = {"index": indexed["index"], "archive": (indexed["root"],), "target_fpir": SEARCH_FPIR, **changes}
    return client_for(make_gallery("walker", "jumper"), **options)


def test_a_person_is_found_and_their_moment_plays(client_for, make_gallery, archive) -> None:  # type: ignore[no-untyped-def]
    client = _client(client_for, make_gallery, archive)
    summary = client.get("/api/archive", headers=AUTH).json()
    assert summary == {"model": archive["model"], "videos": 13, "failed_videos": 0, "tracks": 14, "backend": "exact",
                       "up_to_date": True, "playback": True}
    response = client.post("/api/search", json={"person": "walker"}, headers=AUTH)
    assert response.status_code == 200, response.text
    result = response.json()
    assert str(archive["tmp"]) not in response.text  # videos are named inside the archive, never by server paths
    found = {(a["video"], a["track"]): a for a in result["appearances"]}
    assert {("gate/walk.mp4", WALKER_TRACK), ("copy.mp4", 1), ("gate/link.mp4", 1)} <= set(found)
    assert not any(video.startswith("hall/") for video, _ in found), "a stranger was found"
    assert result["appearances"][0]["score"] > 0.99 and result["complete"] and result["ending"]
    walk = found[("gate/walk.mp4", WALKER_TRACK)]
    assert walk["camera"] == "gate" and walk["first_time"] == 1.5 and walk["thumbnail"].startswith("data:image/jpeg;base64,")
    assert walk["video_id"] == archive["ids"]["walk"]
    assert found[("copy.mp4", 1)]["video_url"] is None and found[("gate/link.mp4", 1)]["video_url"] is None
    # the signed link plays without the token, whole or from any byte (the browser seeks with Range)
    data = (archive["root"] / "gate" / "walk.mp4").read_bytes()
    whole = client.get(walk["video_url"])
    assert whole.status_code == 200 and whole.content == data and whole.headers["content-type"] == "video/mp4"
    part = client.get(walk["video_url"], headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"


def test_a_walker_of_the_index_and_vectors_are_searched_for(client_for, make_gallery, archive) -> None:  # type: ignore[no-untyped-def]
    client = _client(client_for, make_gallery, archive)
    result = client.post("/api/search", json={"video_id": archive["ids"]["walk"], "track": WALKER_TRACK, "top": 1}, headers=AUTH).json()
    assert result["query"] == f"walk.mp4 track {WALKER_TRACK}"
    assert len(result["appearances"]) == 1 and result["more"] == 1  # the two other copies, not itself
    assert all((a["video_id"], a["track"]) != (archive["ids"]["walk"], WALKER_TRACK) for a in result["appearances"])
    alone = client.post("/api/search", json={"video_id": archive["ids"]["link"]}, headers=AUTH).json()  # its only walker
    assert alone["query"] == "link.mp4 track 1" and ("gate/walk.mp4", WALKER_TRACK) in {(a["video"], a["track"]) for a in alone["appearances"]}
    vectors = archive["walker"][:2].tolist()
    result = client.post("/api/search", json={"vectors": vectors, "fpir": 0.001}, headers=AUTH).json()
    assert result["target_fpir"] == 0.001 and (("gate/walk.mp4", WALKER_TRACK) in {(a["video"], a["track"]) for a in result["appearances"]})


def test_the_walker_of_an_uploaded_clip_is_searched_for(client_for, make_gallery, archive) -> None:  # type: ignore[no-untyped-def]
    from gaitid.samples import WALK_VIDEO

    client = _client(client_for, make_gallery, archive)
    clip = {"video": ("suspect.mp4", WALK_VIDEO.read_bytes(), "video/mp4")}
    several = wait_job(client, client.post("/api/search/video", files=clip, data={"frames": "0:80"}, headers=AUTH).json())
    assert several["status"] == "failed" and "with the form's track field" in several["error"]
    assert {t["id"] for t in several["tracks"]} >= {WALKER_TRACK}  # the tracks to choose from
    job = client.post("/api/search/video", files=clip, data={"frames": "0:80", "track": WALKER_TRACK}, headers=AUTH)
    assert job.status_code == 202 and job.json()["kind"] == "search"
    done = wait_job(client, job.json())
    assert done["status"] == "done", done["error"]
    result = done["result"]
    assert result["query"] == f"suspect.mp4 track {WALKER_TRACK}"
    found = {(a["video"], a["track"]) for a in result["appearances"]}
    assert {("gate/walk.mp4", WALKER_TRACK), ("copy.mp4", 1), ("gate/link.mp4", 1)} <= found
    assert not any(video.startswith("hall/") for video, _ in found), "a stranger was found"
    assert IndexFolder(archive["index"]).records().keys() == set(archive["ids"].values()) | {
        vid for vid, r in IndexFolder(archive["index"]).records().items() if "casia-" in r.video
    }  # the clip was not added to the index


def test_a_clip_search_needs_an_index(client_for, make_gallery) -> None:  # type: ignore[no-untyped-def]
    from gaitid.samples import WALK_VIDEO

    client = client_for(make_gallery("walker"))
    response = client.post("/api/search/video", files={"video": ("a.mp4", WALK_VIDEO.read_bytes(), "video/mp4")}, headers=AUTH)
    assert response.status_code == 404 and "no archive index" in response.json()["detail"]


def test_a_new_generation_of_the_vector_index_is_searched_once_committed(client_for, make_gallery, archive) -> None:  # type: ignore[no-untyped-def]
    client = _client(client_for, make_gallery, archive)
    assert len(client.post("/api/search", json={"person": "walker", "top": 50}, headers=AUTH).json()["appearances"]) == 3
    folder = IndexFolder(archive["index"])
    index_video(folder, archive["root"] / "gate" / "later.mp4", "gate", [index_track(4, archive["walker"][:3])], archive["model"])
    assert client.get("/api/archive", headers=AUTH).json()["up_to_date"] is False
    assert update_vectors(folder).added == 1  # as gaitid index ends its run
    result = client.post("/api/search", json={"person": "walker", "top": 50}, headers=AUTH).json()
    assert ("gate/later.mp4", 4) in {(a["video"], a["track"]) for a in result["appearances"]}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"person": "nobody"}, 404, "nobody"),
        ({}, 422, "give one of person"),
        ({"person": "walker", "vectors": [[1.0]]}, 422, "give one of person"),
        ({"track": 1}, 422, "track goes with video_id"),
        ({"video_id": "0" * 20, "track": 1}, 404, "no indexed video"),
        ({"video_id": "../../etc/passwd", "track": 1}, 422, "pattern"),
        ({"video_id": "walk", "track": 99}, 422, "walk.mp4 has no track 99"),
        ({"video_id": "walk"}, 422, "2 tracks with a gait window"),
        ({"vectors": [[1.0, 2.0]]}, 422, "windows of"),
        ({"vectors": [[0.5] * 256, [0.5] * 255]}, 422, "windows of"),
        ({"vectors": [[1e300] * 256]}, 422, "finite"),
        ({"vectors": [[0.0] * 256]}, 422, "not all zeros"),
        ({"person": "walker", "top": 0}, 422, "top"),
        ({"person": "walker", "fpir": 2}, 422, "fpir"),
    ],
)
def test_bad_searches_are_clear_json_errors_without_paths(client_for, make_gallery, archive, body, status, says) -> None:  # type: ignore[no-untyped-def]
    client = _client(client_for, make_gallery, archive)
    if body.get("video_id") == "walk":
        body = {**body, "video_id": archive["ids"]["walk"]}
    if "vectors" in body:  # rows written 256 long stand for the index's vector size (255: one number short)
        size = len(archive["walker"][0])
        body = {**body, "vectors": [r[:1] * (size + len(r) - 256) if len(r) >= 255 else r for r in body["vectors"]]}
    response = client.post("/api/search", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert says in response.text and str(archive["tmp"]) not in response.text


def test_videos_play_only_with_the_token_or_a_valid_signature_and_only_from_the_archive(client_for, make_gallery, archive) -> None:  # type: ignore[no-untyped-def]
    client = _client(client_for, make_gallery, archive)
    service = client.app.state.service
    ids = archive["ids"]
    base = f"/api/archive/videos/{ids['walk']}"
    assert client.get(base).status_code == 401
    assert client.get(base, headers=AUTH).status_code == 200
    good = service.archive.signed_link(ids["walk"], int(time.time()) + 60)
    assert client.get(good).status_code == 200
    assert client.get(good[:-4] + "0000").status_code == 401  # altered
    assert client.get(good.replace(ids["walk"], ids["link"], 1)).status_code == 401  # another video's
    assert client.get(service.archive.signed_link(ids["walk"], int(time.time()) - 1)).status_code == 401  # expired
    assert client.get(f"{base}?expires=%C2%B2&signature=x").status_code == 401
    for name in ("outside", "link"):  # recorded in the index, but not in the archive folder: never served
        response = client.get(f"/api/archive/videos/{ids[name]}", headers=AUTH)
        assert response.status_code == 404 and str(archive["tmp"]) not in response.text
    assert client.get("/api/archive/videos/..%2F..%2Fetc%2Fpasswd", headers=AUTH).status_code in (404, 422)
    # without archive folders, nothing plays and the results say so
    bare = client_for(archive["tmp"] / "gallery.db", index=archive["index"], target_fpir=SEARCH_FPIR)  # the gallery made above
    result = bare.post("/api/search", json={"person": "walker"}, headers=AUTH).json()
    assert all(a["video_url"] is None for a in result["appearances"])
    assert sorted(a["video"] for a in result["appearances"]) == ["copy.mp4", "link.mp4", "walk.mp4"]  # names alone
    assert bare.get(base, headers=AUTH).status_code == 404


def test_a_server_without_an_index_says_so_and_a_bad_index_stops_it(client_for, make_gallery, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_gallery("walker"))
    for response in (client.get("/api/archive", headers=AUTH), client.post("/api/search", json={"person": "walker"}, headers=AUTH)):
        assert response.status_code == 404 and "gaitid serve --index" in response.json()["detail"]
    empty = IndexFolder(tmp_path / "empty.idx")  # an index that gaitid index has not finished a run of
    empty.start(IndexSettings("gaitset_strips_s/4", "silhouette", 30, 15, "full", 4))
    client = client_for(tmp_path / "gallery.db", index=empty.path)
    assert client.get("/api/archive", headers=AUTH).json()["backend"] is None
    response = client.post("/api/search", json={"person": "walker"}, headers=AUTH)
    assert response.status_code == 409 and "no vector index yet" in response.json()["detail"]
    with pytest.raises(GaitidError, match="give the index too"):
        ServerSettings(token=TOKEN, archive=(tmp_path,))
    with pytest.raises(GaitidError, match="not a gaitid index"):
        create_app(ServerSettings(token=TOKEN, gallery=tmp_path / "g.db", index=tmp_path))


def test_an_index_made_before_walkers_were_turned_is_served_with_a_warning(archive, caplog) -> None:  # type: ignore[no-untyped-def]
    import json
    import logging

    from gaitid.server.archive import Archive

    with caplog.at_level(logging.WARNING, logger="gaitid.server"):
        Archive(archive["index"], (archive["root"],))
    assert "were turned" not in caplog.text
    settings = json.loads((archive["index"] / "index.json").read_text())
    del settings["walkers_turned"]  # as index.json was written before walkers were turned
    (archive["index"] / "index.json").write_text(json.dumps(settings))
    with caplog.at_level(logging.WARNING, logger="gaitid.server"):
        Archive(archive["index"], (archive["root"],))
    assert "before walkers crossing the image left to right were turned" in caplog.text
