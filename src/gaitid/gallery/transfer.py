"""Export a gallery to one JSON file and import it again (a backup, a move to another machine or model).

The file holds the people (name, metadata), their vectors (base64 float32, with model, source, frame count
and time); the audit log stays behind. An encrypted gallery exports encrypted with the same user key (a
fresh salt), unless the user asks for a plain file; a plain file is written readable by its owner only.

    {"format": "gaitid-gallery-export", "version": 1, "people": [...]}                        plain
    {"format": "gaitid-gallery-export", "version": 1, "encryption": "scrypt:...", "data": "..."} encrypted
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np

from gaitid.gallery.crypto import Cipher, KdfParams
from gaitid.gallery.errors import GalleryError, GalleryKeyError
from gaitid.gallery.store import GalleryStore, NewVector
from gaitid.outputs import atomic_path

EXPORT_FORMAT = "gaitid-gallery-export"
EXPORT_VERSION = 1


def export_gallery(store: GalleryStore, path: str | os.PathLike, *, plain: bool = False) -> tuple[int, int]:
    """Write every person and vector to `path` (which must not exist); returns (people, vectors)."""
    path = Path(path)
    if os.path.lexists(path):
        raise GalleryError(f"{path} already exists; export to a new file")
    people = []
    n_vectors = 0
    for summary in store.people():
        person = store.person(summary.name)
        people.append(
            {
                "name": person.name,
                "metadata": person.metadata,
                "created": person.created,
                "vectors": [
                    {
                        "model": v.model,
                        "dim": int(v.vector.shape[0]),
                        "vector": base64.b64encode(v.vector.astype("<f4").tobytes()).decode("ascii"),
                        "source": v.source,
                        "num_frames": v.num_frames,
                        "created": v.created,
                    }
                    for v in person.vectors
                ],
            }
        )
        n_vectors += len(person.vectors)
    body = json.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "people": people}).encode("utf-8")
    if store.encrypted and not plain:
        params = KdfParams.new()
        cipher = Cipher(store._key, params)
        envelope = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "encryption": params.to_text(),
            "data": base64.b64encode(cipher.encrypt(body, "export")).decode("ascii"),
        }
        body = json.dumps(envelope).encode("utf-8")
    _write_new(path, body)
    return len(people), n_vectors


def _write_new(path: Path, body: bytes) -> None:
    """Write `body` to the new file `path` (owner-only, complete or absent; never replacing anything)."""
    try:
        with atomic_path(path, replace=False) as temporary, open(temporary, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
    except FileExistsError:
        raise GalleryError(f"{path} already exists; export to a new file") from None
    except OSError as error:
        raise GalleryError(f"cannot write {path}: {error.strerror or error}") from None


def import_gallery(store: GalleryStore, path: str | os.PathLike, *, add: bool = False) -> tuple[int, int]:
    """Enrol everyone in the export file `path`, all in one transaction; returns (people, vectors).

    A name already enrolled is an error (nothing is imported) unless add=True, which adds the vectors.
    An encrypted export is read with the gallery's key.
    """
    entries = read_export(path, store._key)
    store.enroll_many(entries, add=add)
    n_vectors = sum(len(vectors) for _, vectors, _ in entries)
    store.log_import(len(entries), n_vectors)
    return len(entries), n_vectors


def read_export(path: str | os.PathLike, key: bytes | None) -> list[tuple[str, list[NewVector], dict | None]]:
    """The people in an export file: (name, vectors, metadata) each; `key` opens an encrypted export."""
    path = Path(path)
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise GalleryError(f"cannot read {path}: {error.strerror or error}") from None
    except (ValueError, UnicodeDecodeError):
        raise GalleryError(f"{path} is not a gaitid gallery export (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise GalleryError(f"{path} is not a gaitid gallery export")
    if document.get("version") != EXPORT_VERSION:
        raise GalleryError(
            f"{path} is a gallery export of version {document.get('version')}; this gaitid reads {EXPORT_VERSION}"
        )
    if "encryption" in document:
        if key is None:
            raise GalleryKeyError(
                f"{path} is encrypted: import it into an encrypted gallery opened with the same key"
            )
        cipher = Cipher(key, KdfParams.from_text(document["encryption"]))
        try:
            document = json.loads(cipher.decrypt(base64.b64decode(document["data"]), "export"))
        except GalleryKeyError:
            raise GalleryKeyError(f"wrong key for the encrypted export {path}") from None
    entries = []
    try:
        for person in document["people"]:
            vectors = []
            for v in person["vectors"]:
                array = np.frombuffer(base64.b64decode(v["vector"]), dtype="<f4")
                if array.shape != (int(v["dim"]),):
                    raise GalleryError(f"{path}: a vector of {person['name']!r} is damaged")
                vectors.append(NewVector(array, v["model"], v.get("source"), int(v.get("num_frames", 0))))
            entries.append((person["name"], vectors, person.get("metadata") or None))
    except (KeyError, TypeError, ValueError) as error:
        raise GalleryError(f"{path} is a damaged gallery export ({error})") from None
    return entries
