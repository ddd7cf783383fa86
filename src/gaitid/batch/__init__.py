"""Archive indexing and search: where else does this walker appear?

    from gaitid.batch import index_archive, list_archive, IndexFolder, person_query, search_index

    run = index_archive(list_archive(["footage/"]), "archive.idx", PipelineOptions(), workers=2)
    result = search_index(IndexFolder("archive.idx"), person_query(gallery, "ada", run.vectors.model))

- `store`: the index folder (one Parquet file per video, written whole; thumbnails and window vectors in it);
- `task`: one video indexed (`index_video`), the task of the local pool and of Ray alike;
- `run`: the driver (`index_archive`): skips finished videos, local process pool or Ray (`cluster`);
- `vectors`: the search index of track vectors (exact, or FAISS HNSW beyond EXACT_LIMIT tracks), extended
  with the new videos' tracks after each run;
- `search`: the gallery's one decision applied to every candidate track (`search_index`), and its sinks
  (`result_json`, `report_html`).
"""

from gaitid.batch.run import IndexRun, index_archive, settings_for, to_do
from gaitid.batch.search import (
    Appearance,
    Query,
    SearchResult,
    clip_query,
    ending_text,
    indexed_track_query,
    is_indexed,
    person_query,
    result_json,
    search_index,
    track_query,
    vector_query,
)
from gaitid.batch.store import IndexFolder, IndexSettings, TrackRow, VideoRecord, video_id
from gaitid.batch.task import VideoSummary, index_video
from gaitid.batch.vectors import EXACT_LIMIT, VectorIndex, build_vectors, load_vectors, open_vectors, update_vectors
from gaitid.sources.archive import ArchiveVideo, list_archive

__all__ = [
    "EXACT_LIMIT",
    "Appearance",
    "ArchiveVideo",
    "IndexFolder",
    "IndexRun",
    "IndexSettings",
    "Query",
    "SearchResult",
    "TrackRow",
    "VectorIndex",
    "VideoRecord",
    "VideoSummary",
    "build_vectors",
    "clip_query",
    "ending_text",
    "index_archive",
    "index_video",
    "indexed_track_query",
    "is_indexed",
    "list_archive",
    "load_vectors",
    "open_vectors",
    "person_query",
    "result_json",
    "search_index",
    "settings_for",
    "to_do",
    "track_query",
    "update_vectors",
    "vector_query",
    "video_id",
]
