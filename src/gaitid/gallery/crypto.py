"""Encryption at rest for the gallery: where the key comes from, and AES-256-GCM around the stored fields.

The user's key (any string or bytes: a passphrase or random bytes) is stretched with scrypt and a random
per-gallery salt into two 256-bit keys: one encrypts fields with AES-GCM (a fresh 96-bit nonce per value,
the field's purpose and its row bound in as associated data so a value cannot be moved to another column or
another row: another person's vector, name or metadata), the other makes an HMAC-SHA256 of each person's name
so that a name can be looked up without being stored in clear.

`cryptography` is imported only when a key is actually used: a plain gallery does not need it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gaitid.errors import GaitidError
from gaitid.gallery.errors import GalleryError, GalleryKeyError

KEY_ENV = "GAITID_GALLERY_KEY"
KEY_FILE_ENV = "GAITID_GALLERY_KEY_FILE"

NONCE_BYTES = 12
SALT_BYTES = 16
# scrypt cost: about 16 MiB and 50 ms per opening; stored in the gallery so it can be raised later.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
# What a stored parameter set may ask for: 8 times the work (and memory) of the default, at most 128 MiB and
# under a second or two; more is refused rather than computed for minutes.
MIN_SCRYPT_N = 2**10
MAX_SCRYPT_WORK = 8 * SCRYPT_N * SCRYPT_R * SCRYPT_P
MAX_SALT_BYTES = 64
SCRYPT_MAXMEM = 256 * 1024 * 1024
TAG_BYTES = 16
_KEY_CHECK = b"gaitid-gallery key check v1"
MAX_KEY_FILE_BYTES = 64 * 1024


def key_from_environment(key_file: str | os.PathLike | None = None) -> bytes | None:
    """The user's key: from `key_file` if given, else $GAITID_GALLERY_KEY_FILE, else $GAITID_GALLERY_KEY.

    A key file holds the key itself; surrounding whitespace (a trailing newline) is ignored.
    Returns None when no key is configured.
    """
    path = key_file if key_file is not None else os.environ.get(KEY_FILE_ENV) or None
    if path is not None:
        data = _read_key_file(Path(path)).strip()
        if not data:
            raise GalleryKeyError(f"the gallery key file {path} is empty")
        return data
    value = os.environ.get(KEY_ENV)
    if value is None or value == "":
        return None
    return os.fsencode(value)  # its bytes, even when they are not UTF-8


def _read_key_file(path: Path) -> bytes:
    """The key file's bytes; refused, like the server's token file, when others may read it, and when it is
    not a regular file (a FIFO would block, a device never end)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise GalleryKeyError(f"cannot read the gallery key file {path}: {error.strerror or error}") from None
    try:
        _check_key_file(path, os.fstat(fd))
        return os.read(fd, MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise GalleryKeyError(f"cannot read the gallery key file {path}: {error.strerror or error}") from None
    finally:
        os.close(fd)


def _check_key_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise GalleryKeyError(f"the gallery key file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise GalleryKeyError(
            f"the gallery key file {path} can be read by others (mode {mode:o}): chmod 600 {path}"
        )
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise GalleryKeyError(f"the gallery key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key")


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def to_text(self) -> str:
        return f"scrypt:{self.n}:{self.r}:{self.p}:{self.salt.hex()}"

    @staticmethod
    def from_text(text: str) -> KdfParams:
        """Parameters as stored in a gallery or an export; refused (GalleryError) unless they are scrypt within
        MAX_SCRYPT_WORK, so that a crafted file cannot make opening it take minutes and gigabytes."""
        try:
            kind, n, r, p, salt = text.split(":")
            params = KdfParams(bytes.fromhex(salt), int(n), int(r), int(p))
        except (AttributeError, ValueError):
            raise GalleryError(f"unknown key derivation {str(text)[:80]!r}") from None
        if kind != "scrypt" or not params.supported():
            raise GalleryError(
                f"unsupported key derivation {text[:80]!r}: gaitid reads scrypt with N a power of two from "
                f"{MIN_SCRYPT_N}, r and p from 1, N*r*p at most {MAX_SCRYPT_WORK}, and a salt of "
                f"{SALT_BYTES}-{MAX_SALT_BYTES} bytes"
            )
        return params

    def supported(self) -> bool:
        n, r, p = self.n, self.r, self.p
        return (
            MIN_SCRYPT_N <= n and n & (n - 1) == 0 and r >= 1 and p >= 1 and n * r * p <= MAX_SCRYPT_WORK
            and n.bit_length() - 1 < 16 * r  # scrypt's own limit: N < 2^(16 r)
            and SALT_BYTES <= len(self.salt) <= MAX_SALT_BYTES
        )

    @staticmethod
    def new() -> KdfParams:
        return KdfParams(os.urandom(SALT_BYTES))


class Cipher:
    """AES-256-GCM for stored fields, and a keyed hash for name look-ups."""

    def __init__(self, user_key: bytes, params: KdfParams) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:  # pragma: no cover - depends on the installation
            raise GaitidError(
                "an encrypted gallery needs the 'cryptography' package: pip install cryptography"
            ) from None
        try:
            derived = hashlib.scrypt(
                user_key, salt=params.salt, n=params.n, r=params.r, p=params.p, maxmem=SCRYPT_MAXMEM, dklen=64
            )
        except (ValueError, MemoryError) as error:
            raise GalleryError(f"the key derivation {params.to_text()[:40]!r} failed: {error}") from None
        self._aead = AESGCM(derived[:32])
        self._mac_key = derived[32:]
        self.params = params

    def encrypt(self, plaintext: bytes, purpose: str, binding: str = "") -> bytes:
        """`purpose` (the field) and `binding` (the row it belongs to) are authenticated with the value: it
        decrypts only with the same two."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, _associated(purpose, binding))

    def decrypt(self, blob: bytes, purpose: str, binding: str = "") -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            if len(blob) < NONCE_BYTES + TAG_BYTES:
                raise InvalidTag
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated(purpose, binding))
        except InvalidTag:
            raise GalleryKeyError(
                f"cannot decrypt a stored {purpose}: wrong key or tampered gallery"
            ) from None

    def name_key(self, name: str) -> str:
        return hmac.new(self._mac_key, name.encode("utf-8"), hashlib.sha256).hexdigest()

    def key_check(self) -> bytes:
        return self.encrypt(_KEY_CHECK, "key-check")

    def verify(self, check: bytes) -> bool:
        try:
            return self.decrypt(check, "key-check") == _KEY_CHECK
        except GalleryKeyError:
            return False


def _associated(purpose: str, binding: str) -> bytes:
    # Without a binding, the purpose alone: what galleries of schema version 2 and exports use.
    return (purpose if not binding else f"{purpose}\0{binding}").encode("utf-8")
