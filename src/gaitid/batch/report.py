"""The HTML report of a search: a grid of thumbnails with their camera, time and score, one file that holds
its images (people would rather look than read). Each thumbnail links to its video at the moment the walker
appears (a `#t=` media fragment, which browsers honour when they play a local file)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from gaitid.batch.search import SearchResult, ending_text

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
p.meta { color: #555; margin: .2rem 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .8rem; margin-top: 1rem; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: .4rem; background: #fafafa; }
figure img { display: block; height: 128px; max-width: 100%; margin: 0 auto; object-fit: contain; }
figcaption { font-size: .8rem; line-height: 1.3; margin-top: .3rem; word-break: break-all; }
.score { font-weight: bold; }
.missing { height: 128px; display: flex; align-items: center; justify-content: center; color: #999; }
p.end { margin-top: 1.2rem; font-style: italic; }
"""


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def report_html(result: SearchResult) -> str:
    """The report as one HTML document."""
    e = html.escape
    cards = []
    for a in result.appearances:
        when = f"{_clock(a.first_time)}-{_clock(a.last_time)}"
        if a.start is not None:
            when += f" ({e(a.start)})"
        image = (
            f'<img alt="track {a.track}" src="data:image/jpeg;base64,{base64.b64encode(a.thumbnail).decode()}">'
            if a.thumbnail else '<div class="missing">no view</div>'
        )
        link = e(Path(a.video).as_uri() + f"#t={a.first_time:.2f}", quote=True)
        cards.append(
            f'<figure><a href="{link}">{image}</a><figcaption>#{a.rank} '
            f'<span class="score">{a.score:.3f}</span><br>{e(a.camera)} · {e(Path(a.video).name)}<br>'
            f"track {a.track}, {when}</figcaption></figure>"
        )
    calibration = result.calibration
    cohort = calibration.get("cohort") or calibration.get("source", "")
    found = f"{len(result.appearances) + result.more} appearance{'s' if len(result.appearances) + result.more != 1 else ''}"
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>gaitid search: {e(result.query)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>Where {e(result.query)} walks: {found}</h1>\n"
        f'<p class="meta">Score: 1 - the estimated rate of strangers who would score as high (cohort: {e(str(cohort))}); '
        f"shown when that rate is at most {result.target_fpir:g}. Over the {result.tracks} tracks of this index, "
        f"about {result.expected_false:.1f} strangers' tracks are expected to pass by chance.</p>\n"
        f'<p class="meta">Model {e(result.model)}; {result.checked} candidate tracks decided.</p>\n'
        f'<div class="grid">{"".join(cards)}</div>\n'
        f'<p class="end">{e(ending_text(result))}.</p>\n</body></html>\n'
    )
