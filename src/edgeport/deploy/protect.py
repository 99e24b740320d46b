"""AES-256-GCM protection of a package's model files (``edgeport package --encrypt --key-file K``).

Each file is encrypted with a fresh random 96-bit nonce and its path inside the package as
associated data, so a file swapped for another variant's fails authentication just like a
flipped byte. The manifest records, per file, the nonce and the SHA-256 of the ciphertext, and
the key's fingerprint (a hash that identifies the key, not the key), so the selector can tell
"wrong key" from "tampered file". Decryption lives in the shipped selector (``select.py``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from edgeport._optional import require
from edgeport.errors import ConfigError

__all__ = ["CIPHER", "KEY_BYTES", "encrypt_bytes", "key_fingerprint", "read_key"]

CIPHER = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12


def read_key(path: str | Path | None) -> bytes:
    """The 32-byte key in ``path``: raw bytes, or 64 hex digits (surrounding whitespace ignored).

    Refused (``ConfigError``) when the file is missing or holds fewer or more than 32 bytes of key, before
    the caller writes anything.
    """
    fix = "write 32 random bytes to a key file, e.g. head -c 32 /dev/urandom > model.key"
    if path is None:
        raise ConfigError("--encrypt needs a key: no --key-file given", fix=fix)
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"key file {p} does not exist", fix=fix)
    raw = p.read_bytes()
    text = raw.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    if len(raw) != KEY_BYTES:
        raise ConfigError(f"key file {p} holds {len(raw)} bytes; AES-256 needs exactly {KEY_BYTES} "
                          f"(or {2 * KEY_BYTES} hex digits)", fix=fix)
    return raw


def key_fingerprint(key: bytes) -> str:
    """A short public id of ``key``: lets the selector say "wrong key" without revealing anything usable."""
    return hashlib.sha256(b"edgeport-key-id\0" + key).hexdigest()[:16]


def encrypt_bytes(data: bytes, key: bytes, associated: str) -> tuple[bytes, bytes]:
    """(nonce, ciphertext with its 16-byte tag) of ``data`` under ``key``, bound to ``associated``."""
    aead = require("cryptography.hazmat.primitives.ciphers.aead", "crypto", "encrypting a package")
    nonce = os.urandom(NONCE_BYTES)
    return nonce, aead.AESGCM(key).encrypt(nonce, data, associated.encode("utf-8"))
