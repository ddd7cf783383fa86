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
import stat
from pathlib import Path

import numpy as np

from gaitid.gallery.crypto import Cipher, KdfParams
from gaitid.gallery.errors import GalleryError, GalleryKeyError
from gaitid.gallery.store import GalleryStore, Imported, NewVector, PersonRecord, check_name, check_vector
from gaitid.outputs import atomic_path

EXPORT_FORMAT = "gaitid-gallery-export"
EXPORT_VERSION = 1


def export_gallery(store: GalleryStore, path: str | os.PathLike, *, plain: bool = False) -> tuple[int, int]:
    """Write every person and vector to `path` (which must not exist); returns (people, vectors).
    The export is recorded in the gallery's audit log."""
    path = Path(path)
    if os.path.lexists(path):
        raise GalleryError(f"{path} already exists; export to a new file")
    encrypted = store.encrypted and not plain

    def write(people: list[PersonRecord]) -> None:
        body = json.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "people": _people(people)})
        _write_new(path, _sealed(store, body.encode("utf-8")) if encrypted else body.encode("utf-8"))

    return store.export(write, encrypted=encrypted)


def _people(people: list[PersonRecord]) -> list[dict]:
    return [
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
        for person in people
    ]


def _sealed(store: GalleryStore, body: bytes) -> bytes:
    """The export encrypted with the gallery's key and fresh key-derivation parameters."""
    params = KdfParams.new()
    envelope = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "encryption": params.to_text(),
        "data": base64.b64encode(Cipher(store._key, params).encrypt(body, "export")).decode("ascii"),
    }
    return json.dumps(envelope).encode("utf-8")


def _write_new(path: Path, body: bytes) -> None:
    """Write `body` to the new file `path` (owner-only, complete or absent; never replacing anything)."""
    try:
        with atomic_path(path, replace=False, private=True) as temporary, open(temporary, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
    except FileExistsError:
        raise GalleryError(f"{path} already exists; export to a new file") from None
    except OSError as error:
        raise GalleryError(f"cannot write {path}: {error.strerror or error}") from None


def import_gallery(store: GalleryStore, path: str | os.PathLike, *, add: bool = False) -> Imported:
    """Enrol everyone in the export file `path`, all in one transaction with its audit entry.

    A name already enrolled is an error (nothing is imported) unless add=True, which adds the vectors.
    An encrypted export is read with the gallery's key.
    """
    return store.enroll_many(read_export(path, store._key), add=add)


Entries = list[tuple[str, list[NewVector], "dict | None"]]


def read_export(path: str | os.PathLike, key: bytes | None) -> Entries:
    """The people in an export file: (name, vectors, metadata) each; `key` opens an encrypted export.

    Anything wrong with the file (not JSON, a field of the wrong type, bad base64, parameters that would make
    opening it take minutes) is a GalleryError that says what and where.
    """
    path = Path(path)
    document = _json(path, _read_regular_file(path), "")
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise GalleryError(f"{path} is not a gaitid gallery export")
    if document.get("version") != EXPORT_VERSION:
        raise GalleryError(
            f"{path} is a gallery export of version {document.get('version')!r}; "
            f"this gaitid reads {EXPORT_VERSION}"
        )
    if "encryption" in document:
        document = _decrypted(path, document, key)
    return _entries(path, document)


def _read_regular_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise GalleryError(f"cannot read {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "rb", closefd=True) as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise GalleryError(f"{path} is not a regular file, so not a gallery export")
        try:
            return f.read()
        except OSError as error:
            raise GalleryError(f"cannot read {path}: {error.strerror or error}") from None


def _json(path: Path, data: bytes, what: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise GalleryError(f"{path} is not a gaitid gallery export ({what}not JSON)") from None


def _decrypted(path: Path, envelope: dict, key: bytes | None) -> object:
    if key is None:
        raise GalleryKeyError(
            f"{path} is encrypted: import it into an encrypted gallery opened with the same key"
        )
    try:
        cipher = Cipher(key, KdfParams.from_text(envelope["encryption"]))
    except GalleryError as error:
        raise GalleryError(f"{path}: {error}") from None
    try:
        blob = base64.b64decode(envelope.get("data"), validate=True)
    except (TypeError, ValueError):
        raise GalleryError(f"{path} is a damaged encrypted export (its data is not base64)") from None
    try:
        body = cipher.decrypt(blob, "export")
    except GalleryKeyError:
        raise GalleryKeyError(f"wrong key for the encrypted export {path} (or the file was altered)") from None
    return _json(path, body, "its decrypted content is ")


def _entries(path: Path, document: object) -> Entries:
    people = document.get("people") if isinstance(document, dict) else None
    if not isinstance(people, list):
        raise _damaged(path, "'people' is not a list")
    entries: Entries = []
    seen: set[str] = set()
    for i, person in enumerate(people):
        entry = _person(path, f"people[{i}]", person)
        if entry[0] in seen:
            raise _damaged(path, f"{entry[0]!r} appears twice")
        seen.add(entry[0])
        entries.append(entry)
    return entries


def _person(path: Path, where: str, person: object) -> tuple[str, list[NewVector], dict | None]:
    if not isinstance(person, dict):
        raise _damaged(path, f"{where} is not an object")
    name, metadata, vectors = person.get("name"), person.get("metadata"), person.get("vectors")
    if not isinstance(name, str):
        raise _damaged(path, f"{where}.name is not a text")
    try:
        check_name(name)
    except GalleryError as error:
        raise _damaged(path, f"{where}.name: {error}") from None
    if metadata is not None and not isinstance(metadata, dict):
        raise _damaged(path, f"{where}.metadata is not an object")
    if not isinstance(vectors, list) or not vectors:
        raise _damaged(path, f"{where}.vectors is not a non-empty list")
    return name, [_vector(path, f"{where}.vectors[{j}]", v) for j, v in enumerate(vectors)], metadata or None


def _vector(path: Path, where: str, v: object) -> NewVector:
    if not isinstance(v, dict):
        raise _damaged(path, f"{where} is not an object")
    model, dim, source, frames = v.get("model"), v.get("dim"), v.get("source"), v.get("num_frames", 0)
    if not isinstance(model, str) or not model:
        raise _damaged(path, f"{where}.model is not a model name")
    if type(dim) is not int or dim < 1:
        raise _damaged(path, f"{where}.dim is not a dimension")
    if source is not None and not isinstance(source, str):
        raise _damaged(path, f"{where}.source is not a text")
    if type(frames) is not int or not 0 <= frames < 2**31:
        raise _damaged(path, f"{where}.num_frames is not a frame count")
    try:
        raw = base64.b64decode(v.get("vector"), validate=True)
    except (TypeError, ValueError):
        raise _damaged(path, f"{where}.vector is not base64") from None
    if len(raw) != 4 * dim:
        raise _damaged(path, f"{where}.vector does not hold {dim} numbers")
    new = NewVector(np.frombuffer(raw, dtype="<f4"), model, source, frames)
    try:
        check_vector(new)
    except GalleryError as error:
        raise _damaged(path, f"{where}: {error}") from None
    return new


def _damaged(path: Path, what: str) -> GalleryError:
    return GalleryError(f"{path} is a damaged gallery export: {what}")
