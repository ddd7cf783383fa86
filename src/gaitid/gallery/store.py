"""The enrolment store: one SQLite file holding people, their identification vectors and an audit log.

Safety properties, each covered by a test in tests/gallery/test_gallery_reliability.py:
- An enrolment is one transaction: after a crash (even SIGKILL) a person is there with all their vectors or
  not at all, and every enrolment committed before is kept (WAL journal, synchronous=FULL).
- One writer and several readers in separate processes: WAL lets readers run during a write; writers
  take the write lock up front (BEGIN IMMEDIATE) and wait up to `busy_timeout_s` for each other.
- A file that is not a gaitid gallery (another file, a foreign SQLite database, a damaged one) is refused
  with a clear error and never written: it is inspected read-only before anything else happens.
- A gallery file is created by the first write, in that write's transaction; until then a store reads as an
  empty gallery from memory. A failed first write removes the file it created (so no empty gallery is left
  behind), while still holding the write lock: a process waiting for that lock notices and starts again.
- Removing a person erases them: rows deleted with secure_delete on (freed bytes are zeroed), the audit
  log's mentions of their name blanked, then VACUUM and a truncating WAL checkpoint, so the template bytes
  are no longer in the gallery's files.
- Encryption at rest (optional, chosen when the gallery is created): names, metadata, vector data, sources
  and the names in the audit log are AES-256-GCM encrypted (see gaitid.gallery.crypto). Model names, vector
  dimensions, counts and times stay in clear. Since schema version 3 each value is bound to its row (the
  person's id; the vector's id and model; the audit entry's id): a value moved to another row, or a vector
  moved to another person, is reported as an altered gallery instead of being read.

The schema has a version; `_MIGRATIONS[i]` takes a store from version i to i + 1 and runs in the same
transaction that records the new version.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaitid.gallery.crypto import Cipher, KdfParams
from gaitid.gallery.errors import GalleryError, GalleryKeyError, NotAGalleryError, UnknownPersonError

GALLERY_ENV = "GAITID_GALLERY"
FORMAT_NAME = "gaitid-gallery"
SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_NAME_LENGTH = 200


def default_gallery_path() -> Path:
    """$GAITID_GALLERY, else $XDG_DATA_HOME/gaitid/gallery.db, else ~/.local/share/gaitid/gallery.db."""
    env = os.environ.get(GALLERY_ENV)
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "gaitid" / "gallery.db"


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (executescript would commit the enclosing transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_0_to_1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS people (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name_key TEXT NOT NULL UNIQUE,   -- the name, or its keyed hash in an encrypted gallery
            name BLOB NOT NULL,              -- the name (UTF-8), encrypted in an encrypted gallery
            metadata BLOB,                   -- JSON, encrypted in an encrypted gallery
            created REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS vectors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            data BLOB NOT NULL,              -- float32 little-endian, encrypted in an encrypted gallery
            source BLOB,                     -- where the vector came from (a file, a camera), encrypted likewise
            num_frames INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS vectors_by_person ON vectors(person_id);
        CREATE INDEX IF NOT EXISTS vectors_by_model ON vectors(model, id);
        CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            action TEXT NOT NULL,            -- create, enrol, rename, remove, identify, import, migrate
            person_id INTEGER,
            subject BLOB,                    -- the name concerned, encrypted likewise, blanked on removal
            detail TEXT                      -- JSON
        );
        """,
    )


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """The site's own cohort: vectors of local walkers who are not enrolled (gaitid gallery cohort add)."""
    _run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS cohort (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label TEXT NOT NULL,             -- one cohort person (a track of a video), not a name
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            data BLOB NOT NULL,              -- float32 little-endian, encrypted in an encrypted gallery
            source BLOB,                     -- the video it came from, encrypted likewise
            created REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS cohort_by_model ON cohort(model, id);
        """,
    )


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Encrypted fields are bound to their rows as well as to their columns, so that a value moved to another
    row (another person's vector, name or metadata) no longer decrypts. The tables do not change; the values
    of an encrypted gallery are re-encrypted by GalleryStore._bind_rows, which needs the key."""


_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_0_to_1, _migrate_1_to_2, _migrate_2_to_3]
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(frozen=True)
class VectorRecord:
    """One stored identification vector."""

    id: int
    model: str
    vector: np.ndarray
    source: str | None
    num_frames: int
    created: float


@dataclass(frozen=True)
class PersonRecord:
    """One enrolled person; `vectors` is filled only by `GalleryStore.person`."""

    id: int
    name: str
    metadata: dict
    created: float
    num_vectors: int
    models: dict[str, int] = field(default_factory=dict)
    vectors: tuple[VectorRecord, ...] = ()


@dataclass(frozen=True)
class NewVector:
    """A vector to enrol: its values, the model that made it, where it came from."""

    vector: np.ndarray
    model: str
    source: str | None = None
    num_frames: int = 0


@dataclass(frozen=True)
class Imported:
    people: int
    vectors: int  # added
    skipped: int = 0  # already there (an import with add=True)


@dataclass(frozen=True)
class Removal:
    name: str
    vectors: int
    wal_truncated: bool  # False when a reader in another process kept the old WAL alive: erased at its close


def _check_existing_file(path: Path) -> bool:
    """Refuse, without writing anything, a file that is not a gaitid gallery; False when it holds nothing yet."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise NotAGalleryError(f"cannot read the gallery {path}: {error.strerror or error}") from None
    if not head:
        return False  # an empty file holds nothing to lose: a gallery being created (or interrupted then)
    if head != SQLITE_MAGIC:
        raise NotAGalleryError(
            f"{path} is not a gaitid gallery (not an SQLite database); it was left untouched"
        )
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        probe = sqlite3.connect(uri, uri=True, timeout=30.0)
        try:
            tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return False  # an empty database: holds nothing to lose (another process may be creating it)
            if "meta" not in tables:
                raise NotAGalleryError(
                    f"{path} is an SQLite database but not a gaitid gallery; it was left untouched"
                )
            row = probe.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != FORMAT_NAME:
                raise NotAGalleryError(
                    f"{path} is an SQLite database but not a gaitid gallery; it was left untouched"
                )
        finally:
            probe.close()
    except sqlite3.DatabaseError as error:
        raise NotAGalleryError(
            f"{path} is damaged or not a gaitid gallery ({error}); it was left untouched"
        ) from None
    return True


def _open_or_create(path: Path) -> tuple[int, bool] | None:
    """A descriptor of the file at `path`, created (owner-only) when missing: (fd, created); None when it
    vanished between the two attempts."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        pass
    try:
        return os.open(path, os.O_RDONLY), False
    except FileNotFoundError:
        return None


def _same_file(fd: int, path: Path) -> bool:
    """Whether `path` still names the file open as `fd` (a failed creation removes the file it created)."""
    opened = os.fstat(fd)
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    return opened.st_nlink > 0 and (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _use_wal(db: sqlite3.Connection, deadline: float) -> None:
    """Put the connection in WAL mode, waiting out a busy file until `deadline` (time.monotonic()).

    SQLite can answer this pragma "database is locked" at once, without calling its busy handler, when
    another process holds a lock it does not wait on (most likely a last connection checkpointing and
    removing the WAL as it closes); seen once in CI as a writer dying on its first write."""
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


def _guarded(method: Callable) -> Callable:
    """Turn SQLite's "damaged file" errors into a clear NotAGalleryError (locks and constraints pass through)."""

    @functools.wraps(method)
    def wrapper(self: GalleryStore, *args: object, **kwargs: object) -> object:
        try:
            with self._lock:
                if self._pending:
                    self._attach()  # another process may have created the gallery since
                return method(self, *args, **kwargs)
        except (sqlite3.OperationalError, sqlite3.IntegrityError):
            raise
        except sqlite3.DatabaseError as error:
            raise NotAGalleryError(
                f"the gallery {self.path} is damaged ({error}); restore it from an export or backup"
            ) from None

    return wrapper


class GalleryStore:
    """A gallery file. Open it with a key to use an encrypted gallery (or to create one).

    path: the SQLite file; created with its folder by the first write when missing (unless create=False).
        Until then the store reads as an empty gallery and nothing is on disk, so that a failed first
        enrolment or import leaves no empty gallery behind.
    key: the user's encryption key (see gaitid.gallery.crypto.key_from_environment), or None.
    busy_timeout_s: how long a writer waits for another process's write to finish.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        key: bytes | None = None,
        *,
        create: bool = True,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self._key = key
        self._cipher: Cipher | None = None
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()  # one connection, shared by the threads of a server
        if self.path.is_dir():
            raise NotAGalleryError(f"{self.path} is a folder, not a gaitid gallery")
        if not create and not self.path.exists():
            raise GalleryError(f"no gallery at {self.path}")
        self._db: sqlite3.Connection | None = None
        self._pending = False  # True while self._db is a draft in memory: no gallery in the file yet
        _guarded(GalleryStore._open_draft)(self)

    # -- opening ------------------------------------------------------------------------------------------

    def _open_draft(self) -> None:
        """Open the gallery in the file, or else an empty draft in memory (never written to the file)."""
        if self._attach():
            return
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        with self._transaction():
            self._create()
        self._pending = True

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            str(self.path), timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            _use_wal(db, time.monotonic() + self._busy_timeout_s)
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA secure_delete = ON")
        except BaseException:
            db.close()
            raise
        return db

    def _attach(self) -> bool:
        """Use the file from now on if it holds a gallery (checking the key, migrating); False if not yet."""
        if not self.path.exists() or not _check_existing_file(self.path):
            return False
        draft, self._db, self._pending = self._db, self._connect(), False
        try:
            self._load(writing=False)
        except BaseException:
            self._db.close()
            self._db, self._pending = draft, True
            raise
        if draft is not None:
            draft.close()
        return True

    def _load(self, *, writing: bool) -> None:
        """Check the key of the gallery in the file and bring its schema up to date."""
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        if int(meta.get("schema_version", "0")) > SCHEMA_VERSION:
            self._migrate(int(meta["schema_version"]))  # refuses a newer schema
        self._unlock(meta, self._key)
        if int(meta.get("schema_version", "0")) < SCHEMA_VERSION:
            if writing:
                self._migrate(int(meta["schema_version"]))
                return
            with self._transaction():
                version = int(
                    self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
                )
                self._migrate(version)

    def _create(self) -> None:
        if self._key is not None and self._cipher is None:
            self._cipher = Cipher(self._key, KdfParams.new())
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT_NAME,))
        self._db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
        self._db.execute("INSERT INTO meta VALUES ('created', ?)", (repr(time.time()),))
        self._db.execute("INSERT INTO meta VALUES ('generation', '0')")
        self._db.execute("INSERT INTO meta VALUES ('removals', '0')")
        if self._cipher is not None:
            self._db.execute("INSERT INTO meta VALUES ('encryption', ?)", (self._cipher.params.to_text(),))
            self._db.execute("INSERT INTO meta VALUES ('key_check', ?)", (self._cipher.key_check().hex(),))
        else:
            self._db.execute("INSERT INTO meta VALUES ('encryption', 'none')")
        self._migrate(0, log=False)
        self._log("create", None, None, {"encrypted": self._cipher is not None, "schema": SCHEMA_VERSION})

    def _migrate(self, version: int, log: bool = True) -> None:
        if version > SCHEMA_VERSION:
            raise GalleryError(
                f"{self.path} has gallery schema version {version}, newer than this gaitid understands "
                f"({SCHEMA_VERSION}): upgrade gaitid"
            )
        for step in range(version, SCHEMA_VERSION):
            _MIGRATIONS[step](self._db)
            if _MIGRATIONS[step] is _migrate_2_to_3:
                self._bind_rows()
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(step + 1),))
            if log and step > 0:
                self._log("migrate", None, None, {"from": step, "to": step + 1})

    def _unlock(self, meta: dict[str, str], key: bytes | None) -> None:
        encryption = meta.get("encryption", "none")
        if encryption == "none":
            if key is not None:
                raise GalleryKeyError(
                    f"a key was given but the gallery {self.path} is not encrypted; unset GAITID_GALLERY_KEY "
                    "(and GAITID_GALLERY_KEY_FILE), or export it and import into a new encrypted gallery"
                )
            return
        if key is None:
            raise GalleryKeyError(
                f"the gallery {self.path} is encrypted: give its key in GAITID_GALLERY_KEY or a key file "
                "(GAITID_GALLERY_KEY_FILE or --key-file)"
            )
        try:
            cipher = Cipher(key, KdfParams.from_text(encryption))
            check = bytes.fromhex(meta["key_check"])
        except GalleryError as error:
            raise GalleryError(f"the gallery {self.path}: {error}") from None
        except (KeyError, ValueError):
            raise NotAGalleryError(f"the gallery {self.path} is damaged (its key check is missing)") from None
        if not cipher.verify(check):
            raise GalleryKeyError(f"wrong key for the encrypted gallery {self.path}")
        self._cipher = cipher

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> GalleryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def encrypted(self) -> bool:
        return self._cipher is not None

    # -- field encoding -----------------------------------------------------------------------------------

    def _seal(self, data: bytes | None, purpose: str, *row: object) -> bytes | None:
        """`data` encrypted (in an encrypted gallery) for the field `purpose` of the row identified by `row`."""
        if data is None:
            return None
        return data if self._cipher is None else self._cipher.encrypt(data, purpose, _binding(row))

    def _open(self, blob: bytes | str | None, purpose: str, *row: object) -> bytes | None:
        if blob is None:
            return None
        if isinstance(blob, str):
            blob = blob.encode("utf-8")
        if self._cipher is None:
            return blob
        try:
            return self._cipher.decrypt(blob, purpose, _binding(row))
        except GalleryKeyError:  # the key was checked when the gallery was opened
            raise self._altered(purpose) from None

    def _altered(self, what: str) -> GalleryKeyError:
        return GalleryKeyError(
            f"the gallery {self.path} was altered: a stored {what} is not the one of its row (moved from another "
            "row, or damaged); restore the gallery from an export or backup"
        )

    def _text(self, blob: bytes | str | None, purpose: str, *row: object) -> str | None:
        data = self._open(blob, purpose, *row)
        return None if data is None else data.decode("utf-8")

    def _next_id(self, table: str) -> int:
        """The id the next row of `table` gets (in a write transaction), known before the row is written so
        that its encrypted fields can be bound to it."""
        used = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = self._db.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]
        return max(used[0] if used else 0, top or 0) + 1

    def _bind_rows(self) -> None:
        """Re-encrypt the fields of a gallery of schema version 2 (bound to their column only), bound to their
        rows."""
        if self._cipher is None:
            return
        for pid, name, metadata in self._db.execute("SELECT id, name, metadata FROM people").fetchall():
            name, metadata = self._reseal(name, "name", "name", pid), self._reseal(metadata, "metadata", "metadata", pid)
            self._db.execute("UPDATE people SET name = ?, metadata = ? WHERE id = ?", (name, metadata, pid))
        for vid, pid, model, data, source in self._db.execute(
            "SELECT id, person_id, model, data, source FROM vectors"
        ).fetchall():
            data = self._reseal(data, "vector", "vector", pid, vid, model)
            source = self._reseal(source, "source", "source", pid, vid)
            self._db.execute("UPDATE vectors SET data = ?, source = ? WHERE id = ?", (data, source, vid))
        for cid, label, model, data, source in self._db.execute(
            "SELECT id, label, model, data, source FROM cohort"
        ).fetchall():
            data = self._reseal(data, "cohort", "cohort", cid, label, model)
            source = self._reseal(source, "source", "cohort source", cid)
            self._db.execute("UPDATE cohort SET data = ?, source = ? WHERE id = ?", (data, source, cid))
        for aid, pid, subject in self._db.execute("SELECT id, person_id, subject FROM audit").fetchall():
            subject = self._reseal(subject, "audit subject", "audit subject", aid, pid)
            self._db.execute("UPDATE audit SET subject = ? WHERE id = ?", (subject, aid))

    def _reseal(self, blob: bytes | None, was: str, purpose: str, *row: object) -> bytes | None:
        """A field of schema version 2 (associated data: its purpose `was`) sealed again, bound to its row."""
        return self._seal(self._open(blob, was), purpose, *row)

    def _name_key(self, name: str) -> str:
        _check_utf8(name)  # a look-up by a name from a command line may hold undecodable bytes
        return name if self._cipher is None else self._cipher.name_key(name)

    # -- transactions -------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction: the write lock is taken at the start; all or nothing."""
        if self._pending:
            with self._first_write():
                yield
            return
        with self._transaction():
            yield

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def _first_write(self) -> Iterator[None]:
        """The first write of a store whose file held no gallery: the file, the gallery in it and this write
        are one transaction. If it fails, a file this store created is removed before the write lock is let
        go (a process waiting for the lock sees that and starts again on a new file)."""
        draft = self._db
        self._db, created = self._begin_on_file()
        self._pending = False
        try:
            try:
                if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                    self._create()
                else:  # another process created the gallery first
                    self._load(writing=True)
                yield
            except BaseException:
                if created:
                    self._remove_files()
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except BaseException:
            self._db.close()
            self._db, self._pending = draft, True
            raise
        draft.close()

    def _begin_on_file(self) -> tuple[sqlite3.Connection, bool]:
        """A connection to the gallery file (created when missing) in a write transaction, and whether this
        store created the file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._begin_on_new_or_existing_file()
        except OSError as error:
            raise GalleryError(f"cannot create the gallery {self.path}: {error.strerror or error}") from None

    def _begin_on_new_or_existing_file(self) -> tuple[sqlite3.Connection, bool]:
        for _ in range(100):
            opened = _open_or_create(self.path)
            if opened is None:
                continue
            fd, created = opened
            try:
                db = self._begin_if_same(fd, created)
            finally:
                os.close(fd)
            if db is not None:
                return db, created
        raise GalleryError(f"the gallery {self.path} keeps disappearing while it is being created")

    def _begin_if_same(self, fd: int, created: bool) -> sqlite3.Connection | None:
        if not created:
            _check_existing_file(self.path)  # a foreign file put there meanwhile is never written
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            if _same_file(fd, self.path):
                return db
            db.execute("ROLLBACK")
        except BaseException:
            db.close()
            raise
        db.close()
        return None

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with suppress(OSError):  # what cannot be removed is an empty database, refused by nobody
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _bump(self, *counters: str) -> None:
        for counter in counters:
            self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", (counter,))

    def _log(self, action: str, person_id: int | None, name: str | None, detail: dict | None) -> None:
        entry = self._next_id("audit")
        subject = None if name is None else self._seal(name.encode("utf-8"), "audit subject", entry, person_id)
        self._db.execute(
            "INSERT INTO audit (id, time, action, person_id, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (entry, time.time(), action, person_id, subject, None if detail is None else json.dumps(detail)),
        )

    # -- writing ------------------------------------------------------------------------------------------

    @_guarded
    def enroll(
        self,
        name: str,
        vectors: Sequence[NewVector],
        metadata: dict | None = None,
        *,
        add: bool = False,
    ) -> int:
        """Enrol `name` with `vectors` in one transaction; returns the person's id.

        A name already enrolled is an error unless add=True, which adds the vectors to that person
        (and replaces the metadata when given).
        """
        with self._write():
            person_id, _ = self._enroll_locked(name, vectors, metadata, add)
        return person_id

    @_guarded
    def enroll_many(
        self, people: Sequence[tuple[str, Sequence[NewVector], dict | None]], *, add: bool = False
    ) -> Imported:
        """Enrol several people (an import) in one transaction with its audit entry: all of them or none.
        With add=True, a vector identical to one the person already has (same model, same values) is skipped:
        importing the same export twice doubles nothing."""
        with self._write():
            added = 0
            for name, vectors, metadata in people:
                added += self._enroll_locked(name, vectors, metadata, add, skip_known=True)[1]
            done = Imported(len(people), added, sum(len(vectors) for _, vectors, _ in people) - added)
            self._log("import", None, None, {"people": done.people, "vectors": added, "skipped": done.skipped})
        return done

    @_guarded
    def export(self, write: Callable[[list[PersonRecord]], None], *, encrypted: bool) -> tuple[int, int]:
        """Hand everyone, with their vectors, to `write` (which writes an export file) and record the export in
        the audit log, in one transaction: no export without its entry. Returns (people, vectors)."""
        with self._write():  # also a consistent snapshot: nobody enrolled or removed half-way
            people = [self.person(summary.name) for summary in self.people()]
            vectors = sum(p.num_vectors for p in people)
            self._log("export", None, None, {"people": len(people), "vectors": vectors, "encrypted": encrypted})
            write(people)
        return len(people), vectors

    def _enroll_locked(
        self, name: str, vectors: Sequence[NewVector], metadata: dict | None, add: bool, skip_known: bool = False
    ) -> tuple[int, int]:
        """Enrol or add to `name` inside a write transaction; returns (their id, vectors added)."""
        check_name(name)
        if not vectors:
            raise GalleryError(f"no vectors to enrol for {name!r}")
        arrays = [check_vector(v) for v in vectors]
        self._check_dimensions(name, vectors, arrays)
        meta = None if metadata is None else _metadata_bytes(metadata)
        now = time.time()
        row = self._db.execute("SELECT id FROM people WHERE name_key = ?", (self._name_key(name),)).fetchone()
        if row is not None and not add:
            raise GalleryError(
                f"{name!r} is already enrolled (add vectors to them with --add, or remove them first)"
            )
        if row is None:
            person_id = self._next_id("people")
            self._db.execute(
                "INSERT INTO people (id, name_key, name, metadata, created) VALUES (?, ?, ?, ?, ?)",
                (person_id, self._name_key(name), self._seal(name.encode("utf-8"), "name", person_id),
                 self._seal(meta, "metadata", person_id), now),
            )
        else:
            person_id = self._person_id(name)  # checks that the row found is theirs
            if metadata is not None:
                sealed = self._seal(meta, "metadata", person_id)
                self._db.execute("UPDATE people SET metadata = ? WHERE id = ?", (sealed, person_id))
        known = self._known_vectors(person_id) if row is not None and skip_known else set()
        added = []
        for new, array in zip(vectors, arrays):
            if (new.model, array.astype("<f4").tobytes()) in known:
                continue
            self._insert_vector(person_id, new, array, now)
            added.append(new.model)
        self._bump("generation")
        detail = {"vectors": len(added), "models": sorted(set(added)), "added": row is not None}
        if len(added) < len(vectors):
            detail["skipped"] = len(vectors) - len(added)
        self._log("enrol", person_id, name, detail)
        return int(person_id), len(added)

    def _known_vectors(self, person_id: int) -> set[tuple[str, bytes]]:
        """(model, float32 bytes) of every vector the person has."""
        return {
            (model, self._open(data, "vector", person_id, vid, model))
            for vid, model, data in self._db.execute(
                "SELECT id, model, data FROM vectors WHERE person_id = ?", (person_id,)
            )
        }

    def _check_dimensions(self, name: str, vectors: Sequence[NewVector], arrays: list[np.ndarray]) -> None:
        """Every vector of a model has the dimension the model's vectors have in the gallery."""
        dims: dict[str, int] = {}
        for new, array in zip(vectors, arrays):
            if new.model not in dims:
                row = self._db.execute("SELECT dim FROM vectors WHERE model = ? LIMIT 1", (new.model,)).fetchone()
                dims[new.model] = int(row[0]) if row is not None else array.shape[0]
            if array.shape[0] != dims[new.model]:
                raise GalleryError(
                    f"model {new.model!r} has {dims[new.model]}-dimensional vectors in this gallery but a vector "
                    f"of {name!r} has dimension {array.shape[0]}: the model changed without a new name"
                )

    def _insert_vector(self, person_id: int, new: NewVector, array: np.ndarray, now: float) -> None:
        vid = self._next_id("vectors")
        self._db.execute(
            "INSERT INTO vectors (id, person_id, model, dim, data, source, num_frames, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vid,
                person_id,
                new.model,
                int(array.shape[0]),
                self._seal(array.astype("<f4").tobytes(), "vector", person_id, vid, new.model),
                self._seal(_source_bytes(new.source), "source", person_id, vid),
                int(new.num_frames),
                now,
            ),
        )

    @_guarded
    def add_cohort(self, label: str, vectors: Sequence[NewVector]) -> int:
        """Add one site-cohort person (a local walker who will not be enrolled) in one transaction; returns
        how many cohort vectors the gallery now holds for their model."""
        if not vectors:
            raise GalleryError("no vectors to add to the cohort")
        arrays = [check_vector(v) for v in vectors]
        now = time.time()
        with self._write():
            for new, array in zip(vectors, arrays):
                cid = self._next_id("cohort")
                self._db.execute(
                    "INSERT INTO cohort (id, label, model, dim, data, source, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (cid, label, new.model, int(array.shape[0]),
                     self._seal(array.astype("<f4").tobytes(), "cohort", cid, label, new.model),
                     self._seal(_source_bytes(new.source), "cohort source", cid), now),
                )
            self._bump("generation", "removals")  # the normalisation changes: indexes are rebuilt
            self._log("cohort", None, None, {"vectors": len(vectors), "model": vectors[0].model})
            return int(self._db.execute("SELECT COUNT(*) FROM cohort WHERE model = ?", (vectors[0].model,)).fetchone()[0])

    @_guarded
    def clear_cohort(self) -> int:
        """Erase the site cohort; returns how many vectors were erased."""
        with self._write():
            count = int(self._db.execute("SELECT COUNT(*) FROM cohort").fetchone()[0])
            self._db.execute("DELETE FROM cohort")
            self._bump("generation", "removals")
            self._log("cohort", None, None, {"cleared": count})
        self.compact()
        return count

    @_guarded
    def load_cohort(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """The site cohort of one model: (labels (n,), vectors (n, d) float32)."""
        found = self._db.execute(
            "SELECT id, label, dim, data FROM cohort WHERE model = ? ORDER BY id", (model,)
        ).fetchall()
        matrix = self._matrix(
            [(dim, data, (cid, label, model)) for cid, label, dim, data in found], "cohort",
            f"site-cohort vectors of model {model!r}",
        )
        return np.asarray([label for _, label, _, _ in found], str), matrix

    def _matrix(self, rows: list[tuple[int, bytes, tuple]], purpose: str, what: str) -> np.ndarray:
        """Stored (dimension, blob, row) rows -> an (n, d) float32 matrix; all rows must have one dimension."""
        dims = {dim for dim, _, _ in rows}
        if len(dims) > 1:
            raise GalleryError(f"{what} have different dimensions {sorted(dims)}: the gallery is inconsistent")
        if not rows:
            return np.zeros((0, 0), np.float32)
        data = b"".join(self._open(blob, purpose, *row) for _, blob, row in rows)
        return np.frombuffer(data, dtype="<f4").reshape(len(rows), dims.pop()).astype(np.float32)

    @_guarded
    def cohort_counts(self) -> dict[str, tuple[int, int]]:
        """model -> (site-cohort people, vectors)."""
        return {
            model: (int(people), int(n))
            for model, people, n in self._db.execute(
                "SELECT model, COUNT(DISTINCT label), COUNT(*) FROM cohort GROUP BY model"
            )
        }

    @_guarded
    def remove(self, name: str) -> Removal:
        """Erase a person: their row, vectors and the mentions of their name in the audit log."""
        with self._write():
            person_id = self._person_id(name)
            count = self._db.execute(
                "SELECT COUNT(*) FROM vectors WHERE person_id = ?", (person_id,)
            ).fetchone()[0]
            self._db.execute("DELETE FROM vectors WHERE person_id = ?", (person_id,))
            self._db.execute("DELETE FROM people WHERE id = ?", (person_id,))
            self._db.execute("UPDATE audit SET subject = NULL WHERE person_id = ?", (person_id,))
            self._bump("generation", "removals")
            self._log("remove", person_id, None, {"vectors": int(count)})
        truncated = self.compact()
        return Removal(name=name, vectors=int(count), wal_truncated=truncated)

    @_guarded
    def rename(self, name: str, new_name: str) -> None:
        """Give an enrolled person another name; their vectors and history stay theirs.

        One UPDATE of the person's row (no schema change) and a "rename" entry in the audit log under the new
        name. Renaming to a name someone else has is an error; renaming to the same name changes nothing.
        """
        check_name(new_name)
        if new_name == name:
            self._person_id(name)  # still an error for someone not enrolled
            return
        with self._write():
            person_id = self._person_id(name)
            taken = self._db.execute(
                "SELECT id FROM people WHERE name_key = ?", (self._name_key(new_name),)
            ).fetchone()
            if taken is not None:
                raise GalleryError(f"{new_name!r} is already enrolled: choose another name, or remove them first")
            self._db.execute(
                "UPDATE people SET name_key = ?, name = ? WHERE id = ?",
                (self._name_key(new_name), self._seal(new_name.encode("utf-8"), "name", person_id), person_id),
            )
            self._bump("generation")  # names are cached by generation (Gallery, identification evidence)
            self._log("rename", person_id, new_name, None)

    @_guarded
    def compact(self) -> bool:
        """Rewrite the file without free space (VACUUM) and truncate the WAL; False if a reader kept the WAL."""
        try:
            self._db.execute("VACUUM")
        except (
            sqlite3.OperationalError
        ):  # another connection is mid-transaction; secure_delete already zeroed
            pass
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    @_guarded
    def log_identification(
        self, name: str | None, score: float, model: str, source: str | None = None
    ) -> None:
        """Record an identification. Written without waiting for the disk (synchronous=NORMAL): a power
        cut may lose the last few of these entries, never the gallery's consistency nor an enrolment."""
        self._db.execute("PRAGMA synchronous = NORMAL")
        try:
            self._log_identification(name, score, model, source)
        finally:
            self._db.execute("PRAGMA synchronous = FULL")

    def _log_identification(self, name: str | None, score: float, model: str, source: str | None) -> None:
        person_id = None
        with self._write():
            if name is not None:
                row = self._db.execute(
                    "SELECT id FROM people WHERE name_key = ?", (self._name_key(name),)
                ).fetchone()
                person_id = None if row is None else int(row[0])
            detail = {"score": round(float(score), 6), "model": model, "unknown": name is None}
            if source is not None:
                detail["source_given"] = True
            self._log("identify", person_id, name, detail)

    # -- reading ------------------------------------------------------------------------------------------

    def _person_id(self, name: str) -> int:
        row = self._db.execute(
            "SELECT id, name FROM people WHERE name_key = ?", (self._name_key(name),)
        ).fetchone()
        if row is None:
            raise UnknownPersonError(f"nobody called {name!r} is enrolled (gaitid gallery list shows who is)")
        if self._text(row[1], "name", row[0]) != name:  # look-up keys exchanged between rows
            raise self._altered("name")
        return int(row[0])

    @_guarded
    def counters(self) -> tuple[int, int]:
        """(generation, removals): the first changes with every enrolment or removal, the second with removals."""
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('generation', 'removals')"))
        return int(meta["generation"]), int(meta["removals"])

    @_guarded
    def people(self) -> list[PersonRecord]:
        """Everyone enrolled, sorted by name, with their vector counts per model."""
        counts: dict[int, dict[str, int]] = {}
        for person_id, model, n in self._db.execute(
            "SELECT person_id, model, COUNT(*) FROM vectors GROUP BY person_id, model"
        ):
            counts.setdefault(person_id, {})[model] = n
        out = []
        for person_id, name, metadata, created in self._db.execute(
            "SELECT id, name, metadata, created FROM people"
        ):
            models = counts.get(person_id, {})
            out.append(
                PersonRecord(
                    id=person_id,
                    name=self._text(name, "name", person_id) or "",
                    metadata=json.loads(self._text(metadata, "metadata", person_id) or "{}"),
                    created=created,
                    num_vectors=sum(models.values()),
                    models=models,
                )
            )
        return sorted(out, key=lambda p: p.name)

    @_guarded
    def person(self, name: str) -> PersonRecord:
        """One person with all their vectors."""
        person_id = self._person_id(name)
        _, metadata, created = self._db.execute(
            "SELECT name, metadata, created FROM people WHERE id = ?", (person_id,)
        ).fetchone()
        vectors = []
        models: dict[str, int] = {}
        for vid, model, dim, data, source, num_frames, vcreated in self._db.execute(
            "SELECT id, model, dim, data, source, num_frames, created FROM vectors WHERE person_id = ? ORDER BY id",
            (person_id,),
        ):
            vector = np.frombuffer(self._open(data, "vector", person_id, vid, model), dtype="<f4")
            source = self._text(source, "source", person_id, vid)
            vectors.append(VectorRecord(vid, model, vector.astype(np.float32), source, num_frames, vcreated))
            models[model] = models.get(model, 0) + 1
        return PersonRecord(
            id=person_id,
            name=name,
            metadata=json.loads(self._text(metadata, "metadata", person_id) or "{}"),
            created=created,
            num_vectors=len(vectors),
            models=models,
            vectors=tuple(vectors),
        )

    @_guarded
    def model_counts(self) -> dict[str, tuple[int, int, int]]:
        """model -> (people, vectors, dimension) over the whole gallery."""
        return {
            model: (people, vectors, dim)
            for model, people, vectors, dim in self._db.execute(
                "SELECT model, COUNT(DISTINCT person_id), COUNT(*), MAX(dim) FROM vectors GROUP BY model"
            )
        }

    @_guarded
    def load_vectors(self, model: str, after_id: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The vectors of one model with id > after_id: (ids (n,), person_ids (n,), vectors (n, d) float32)."""
        found = self._db.execute(
            "SELECT id, person_id, dim, data FROM vectors WHERE model = ? AND id > ? ORDER BY id",
            (model, after_id),
        ).fetchall()
        rows = [(dim, data, (pid, vid, model)) for vid, pid, dim, data in found]
        matrix = self._matrix(rows, "vector", f"vectors of model {model!r}")
        ids = np.asarray([vid for vid, _, _, _ in found], np.int64)
        return ids, np.asarray([pid for _, pid, _, _ in found], np.int64), matrix

    @_guarded
    def names(self) -> dict[int, str]:
        """person id -> name, for everyone."""
        return {
            pid: self._text(name, "name", pid) or ""
            for pid, name in self._db.execute("SELECT id, name FROM people")
        }

    @_guarded
    def audit(self, limit: int = 100) -> list[dict]:
        """The most recent audit entries, newest first (names of removed people are blank)."""
        out = []
        for entry, t, action, person_id, subject, detail in self._db.execute(
            "SELECT id, time, action, person_id, subject, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
        ):
            out.append(
                {
                    "time": t,
                    "action": action,
                    "person_id": person_id,
                    "name": self._text(subject, "audit subject", entry, person_id),
                    "detail": None if detail is None else json.loads(detail),
                }
            )
        return out


# Besides control characters (line breaks, terminal escapes): bidirectional overrides, which make a name
# display as another.
_NOT_IN_NAMES = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(name: str) -> None:
    """Refuse, with a one-line GalleryError, a text that cannot be a person's name: empty, too long, padded
    with spaces, not valid UTF-8 (undecodable bytes on a command line), or holding control characters."""
    if not isinstance(name, str) or not name.strip():
        raise GalleryError("a person's name must be a non-empty text")
    _check_utf8(name)
    if len(name) > MAX_NAME_LENGTH:
        raise GalleryError(f"a person's name may have at most {MAX_NAME_LENGTH} characters")
    if name != name.strip():
        raise GalleryError(f"a person's name must not start or end with spaces: {name!r}")
    _check_printable(name, "a person's name")


def _check_utf8(name: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise GalleryError(f"a person's name is not valid UTF-8 text: {name!r}") from None


def _check_printable(text: str, what: str) -> None:
    if any(c in _NOT_IN_NAMES or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text):
        raise GalleryError(f"{what} must not contain control characters: {text!r}")


def check_model_name(model: str) -> None:
    """Refuse a model name that is not a short line of printable text (it is shown in listings)."""
    if not isinstance(model, str) or not model:
        raise GalleryError("every vector must name the model that made it")
    if len(model) > MAX_NAME_LENGTH:
        raise GalleryError(f"a model's name may have at most {MAX_NAME_LENGTH} characters")
    _check_printable(model, "a model's name")


def _binding(row: tuple) -> str:
    return json.dumps(row) if row else ""


def _metadata_bytes(metadata: dict) -> bytes:
    if not isinstance(metadata, dict):
        raise GalleryError(f"a person's metadata must be a JSON object, got {type(metadata).__name__}")
    try:
        return json.dumps(metadata, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise GalleryError("a person's metadata holds text that is not valid UTF-8") from None
    except (TypeError, ValueError) as error:
        raise GalleryError(f"a person's metadata cannot be written as JSON: {error}") from None


def _source_bytes(source: str | None) -> bytes | None:
    """Where a vector came from, as UTF-8; undecodable bytes of a file name are kept as visible escapes."""
    if source is None:
        return None
    if not isinstance(source, str):
        raise GalleryError(f"a vector's source must be a text, got {type(source).__name__}")
    return source.encode("utf-8", "backslashreplace")


def check_vector(new: NewVector) -> np.ndarray:
    """The vector as float32, or a GalleryError: not one-dimensional, not finite, no model, bad frame count."""
    array = np.asarray(new.vector, dtype=np.float32)
    if array.ndim != 1 or array.shape[0] == 0:
        raise GalleryError(
            f"an identification vector must be one-dimensional and non-empty, got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise GalleryError("an identification vector contains NaN or infinite values")
    check_model_name(new.model)
    if not isinstance(new.num_frames, (int, np.integer)) or not 0 <= new.num_frames < 2**31:
        raise GalleryError(f"a vector's frame count must be a whole number from 0, got {new.num_frames!r}")
    return array
