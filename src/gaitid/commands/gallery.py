"""What `gaitid gallery ...` does: list, show, remove, export, import and audit, with plain messages.

Every function takes the gallery's path (None: the default) and key file (None: the environment), prints
its result to `out` and returns the exit status. Problems raise GaitidError (one line, exit 2).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from gaitid.gallery.crypto import key_from_environment
from gaitid.gallery.store import GalleryStore, default_gallery_path
from gaitid.outputs import counted


def _open(path: str | None, key_file: str | None, *, create: bool = False) -> GalleryStore:
    from gaitid.gallery.errors import GalleryError

    target = default_gallery_path() if path is None else path
    key = key_from_environment(key_file)
    try:
        return GalleryStore(target, key, create=create)
    except GalleryError as error:
        if not create and str(error).startswith("no gallery at"):
            raise GalleryError(
                f"no gallery at {target} yet: enrol someone first (gaitid enroll NAME VIDEO)"
            ) from None
        raise


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def run_list(path: str | None, key_file: str | None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    target = default_gallery_path() if path is None else Path(path)
    if not target.exists():
        print(
            f"the gallery {target} is empty (not created yet): enrol people with gaitid enroll NAME VIDEO",
            file=out,
        )
        return 0
    with _open(path, key_file) as store:
        people = store.people()
        if not people:
            print(f"the gallery {store.path} is empty: enrol people with gaitid enroll NAME VIDEO", file=out)
            return 0
        width = max(len(p.name) for p in people)
        for p in people:
            models = ", ".join(f"{m} x{n}" for m, n in sorted(p.models.items()))
            print(
                f"{p.name:<{width}}  {counted(p.num_vectors, 'vector'):>11}  enrolled {_when(p.created)}  {models}",
                file=out,
            )
        encrypted = " (encrypted)" if store.encrypted else ""
        print(f"{counted(len(people), 'person', 'people')} in {store.path}{encrypted}", file=out)
    return 0


def run_show(path: str | None, key_file: str | None, name: str, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    with _open(path, key_file) as store:
        person = store.person(name)
        print(f"name:     {person.name}", file=out)
        print(f"enrolled: {_when(person.created)}", file=out)
        if person.metadata:
            print(f"metadata: {json.dumps(person.metadata, ensure_ascii=False)}", file=out)
        print(f"vectors:  {person.num_vectors}", file=out)
        for v in person.vectors:
            source = v.source if v.source is not None else "-"
            print(
                f"  #{v.id}  {v.model}  {v.vector.shape[0]}-d  {v.num_frames} frames  {_when(v.created)}  {source}",
                file=out,
            )
    return 0


def run_remove(path: str | None, key_file: str | None, name: str, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    with _open(path, key_file) as store:
        removal = store.remove(name)
    note = (
        ""
        if removal.wal_truncated
        else " (another process still reads the gallery: its journal is wiped when it closes)"
    )
    print(f"removed {removal.name}: {counted(removal.vectors, 'vector')} erased from the gallery{note}", file=out)
    return 0


def run_export(
    path: str | None, key_file: str | None, target: str, plain: bool, out: TextIO | None = None
) -> int:
    out = out if out is not None else sys.stdout
    from gaitid.gallery.transfer import export_gallery

    with _open(path, key_file) as store:
        people, vectors = export_gallery(store, target, plain=plain)
        encrypted = store.encrypted and not plain
    what = (
        "encrypted with the gallery's key"
        if encrypted
        else "NOT encrypted: it holds biometric templates, keep it safe"
    )
    counts = f"{counted(people, 'person', 'people')} ({counted(vectors, 'vector')})"
    print(f"exported {counts} to {target}, {what}", file=out)
    return 0


def run_import(
    path: str | None, key_file: str | None, source: str, add: bool, out: TextIO | None = None
) -> int:
    out = out if out is not None else sys.stdout
    from gaitid.gallery.transfer import read_export

    entries = read_export(source, key_from_environment(key_file))  # before a new gallery is created
    with _open(path, key_file, create=True) as store:
        done = store.enroll_many(entries, add=add)
        skipped = f"; skipped {counted(done.skipped, 'vector')} already enrolled" if done.skipped else ""
        counts = f"{counted(done.people, 'person', 'people')} ({counted(done.vectors, 'vector')})"
        print(f"imported {counts} into {store.path}{skipped}", file=out)
    return 0


def run_audit(path: str | None, key_file: str | None, limit: int, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    with _open(path, key_file) as store:
        for entry in reversed(store.audit(limit)):
            name = entry["name"] if entry["name"] is not None else "-"
            detail = json.dumps(entry["detail"]) if entry["detail"] is not None else ""
            print(f"{_when(entry['time'])}  {entry['action']:<8}  {name}  {detail}", file=out)
    return 0


def run_cohort_show(path: str | None, key_file: str | None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    with _open(path, key_file) as store:
        counts = store.cohort_counts()
        if not counts:
            print("no site cohort: scores are normalised against the cohort shipped with the model", file=out)
        for model, (people, vectors) in sorted(counts.items()):
            print(f"{model}: {counted(people, 'walker')}, {counted(vectors, 'vector')} in the site cohort", file=out)
    return 0


def run_cohort_clear(path: str | None, key_file: str | None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    with _open(path, key_file) as store:
        erased = store.clear_cohort()
    print(f"erased the site cohort ({counted(erased, 'vector')})", file=out)
    return 0
