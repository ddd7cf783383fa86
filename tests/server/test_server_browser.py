"""The web page in a real browser (headless Chromium, driven by Playwright): enrol -> identify -> watch a
live source -> remove, on the sample clip, checking what the page shows.

Screenshots of each page are saved in tests/artifacts/ (or $GAITID_TEST_ARTIFACTS) for a person to look at.
Needs Debian's `chromium` package (.ci/run installs it); without it these tests are skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from server_helpers import SEARCH_FPIR, TOKEN, settings_for

from gaitid.samples import WALK_VIDEO

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GAITID_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LONG = 120_000  # ms: a pipeline run on a busy 2-core machine

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_the_page_asks_for_the_token(loopback_server, make_gallery, tmp_path, page):
    server = loopback_server(settings_for(make_gallery(), tmp_path))
    expect = sync_api.expect
    page.goto(server.url + "/")
    expect(page.locator("#token-panel")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    page.fill("#token-input", "not-the-token-0123456789")
    page.click("#token-form button")
    expect(page.locator("#token-error")).to_contain_text("refused")
    _shot(page, "server-token.png")
    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#people-empty")).to_be_visible()


def test_enrol_identify_watch_live_and_remove(loopback_server, make_gallery, tmp_path, page):
    expect = sync_api.expect
    server = loopback_server(settings_for(make_gallery("jumper"), tmp_path, allow_file_sources=True))
    page.goto(f"{server.url}/#token={TOKEN}")
    people = page.locator("#people tbody tr")
    expect(people).to_have_count(1)
    assert "token" not in page.url  # taken out of the address bar (and history)

    # enrol the walker of the clip's first half: track 2
    form = page.locator("#enroll-form")
    form.locator("[name=name]").fill("walker")
    form.locator("[name=video]").set_input_files(str(WALK_VIDEO))
    form.locator("[name=track]").fill("2")
    form.locator("[name=frames]").fill("0:80")
    form.locator("button").click()
    expect(page.locator("#enroll-status")).to_contain_text("enrolled walker from track 2", timeout=LONG)
    expect(people).to_have_count(2)
    expect(page.locator("#people tr[data-name=walker] td.enrolments")).to_have_text("1")
    expect(page.locator("#server-state")).to_contain_text("2 enrolled")
    _shot(page, "server-gallery.png")

    # identify the clip's second half: the walker is named, with the annotated video
    form = page.locator("#identify-form")
    form.locator("[name=video]").set_input_files(str(WALK_VIDEO))
    form.locator("[name=frames]").fill("80:")
    form.locator("button").click()
    expect(page.locator("#identify-result")).to_be_visible(timeout=LONG)
    answers = page.locator("#result-tracks tbody td.answer")
    expect(answers.filter(has_text="walker")).to_have_count(1)
    assert page.locator("#result-video").get_attribute("src").startswith("blob:")
    page.wait_for_function("document.querySelector('#result-video').readyState >= 1", timeout=30_000)
    _shot(page, "server-identify.png")

    # a live source: the clip played as a camera; the walker is named on the frames and in the events
    page.locator("#live-form [name=spec]").fill(str(WALK_VIDEO))
    page.locator("#live-form button").click()
    expect(page.locator("#live-view")).to_be_visible()
    expect(page.locator("#events")).to_contain_text("identified: walker", timeout=LONG)
    page.wait_for_function("document.querySelector('#live-frame').naturalWidth > 0", timeout=30_000)
    expect(page.locator("#live-tracks tbody td.answer").filter(has_text="walker")).to_have_count(1, timeout=10_000)
    _shot(page, "server-live.png")

    # remove, with a confirmation: cancelling keeps the person
    page.locator("#people tr[data-name=walker] button.remove").click()
    expect(page.locator("#confirm-remove")).to_be_visible()
    expect(page.locator("#confirm-name")).to_have_text("walker")
    _shot(page, "server-remove.png")
    page.locator("#confirm-cancel").click()
    expect(people).to_have_count(2)
    page.locator("#people tr[data-name=walker] button.remove").click()
    page.locator("#confirm-ok").click()
    expect(people).to_have_count(1)
    expect(page.locator("#people tr[data-name=walker]")).to_have_count(0)
    expect(page.locator("#people tbody")).to_contain_text("jumper")

    # stop (or close, if the clip has ended) the live source
    expect(page.locator("#sources li")).to_have_count(1)
    page.locator("#sources button.stop").click()
    expect(page.locator("#sources li")).to_have_count(0)
    expect(page.locator("#live-view")).to_be_hidden()


def test_search_the_archive_and_play_the_moment(loopback_server, make_gallery, archive, tmp_path, page):
    expect = sync_api.expect
    settings = settings_for(make_gallery("walker", "jumper"), tmp_path, index=archive["index"], archive=(archive["root"],),
                            target_fpir=SEARCH_FPIR)
    server = loopback_server(settings)
    page.goto(f"{server.url}/#token={TOKEN}")
    expect(page.locator("#search")).to_be_visible()
    expect(page.locator("#archive-state")).to_contain_text("14 tracks of 13 videos searchable")
    page.select_option("#search-form select[name=person]", "walker")
    page.click("#search-form button")
    cards = page.locator("#search-results figure")
    expect(cards).to_have_count(3, timeout=LONG)  # the clip, its copy outside the archive, the link out of it
    expect(page.locator("#search-ending")).to_contain_text("no more appearances")
    playable = page.locator("#search-results figure.playable")
    expect(playable).to_have_count(1)
    expect(playable).to_contain_text("gate/walk.mp4")
    playable.click()
    # played from the walker's first moment (1.5 s), not from the start: where playback began, or where it waits
    page.wait_for_function(
        """() => { const v = document.querySelector('#search-video');
                   const from = v.played.length ? v.played.start(0) : v.currentTime;
                   return v.readyState >= 1 && from > 1.4 && from < 1.6; }""",
        timeout=30_000,
    )
    assert "signature=" in page.locator("#search-video").get_attribute("src")
    _shot(page, "server-search.png")
    page.locator("#search-results figure:not(.playable)").first.click()
    expect(page.locator("#search-playing")).to_contain_text("cannot be played here")
    playable.locator("button.where-else").click()  # the walker of that result, searched for in turn
    expect(page.locator("#search-status")).to_contain_text("walk.mp4 track 2: 2 appearances", timeout=LONG)
    expect(cards).to_have_count(2)
    # a clip of the walker that is not in the archive, uploaded: analysed, then searched for
    clip = tmp_path / "suspect.mp4"
    shutil.copy(WALK_VIDEO, clip)
    page.set_input_files("#search-clip-form input[name=video]", str(clip))
    page.fill("#search-clip-form input[name=track]", "2")
    page.click("#search-clip-form button")
    expect(page.locator("#search-status")).to_contain_text("suspect.mp4 track 2: ", timeout=LONG)
    found = sorted(cards.all_inner_texts())
    # The walker's three tracks, and no laboratory stranger. The jumper's track (another man filmed by the same
    # camera) also comes back since walkers are turned to one direction (benchmarks/GAIT_RESULTS.md, "Walkers
    # going the other way"): the known same-camera defect of issue 14 (test_identify.py's strict expected
    # failure), which his walk along the box top, left to right and so unlike hers before, used to hide here.
    walker = [t for t in found if "track 2," in t and "gate/walk.mp4" in t]
    copies = [t for t in found if "track 1," in t and ("copy.mp4" in t or "gate/link.mp4" in t)]
    assert len(walker) == 1 and len(copies) == 2, found
    assert set(found) - set(walker + copies) <= {t for t in found if "gate/walk.mp4" in t and "track 1," in t}, found
    assert not any("hall" in t for t in found), found
