"""Content-addressed artifact files on the device: uploaded once, kept across agent restarts.

A file is stored as ``blobs/<sha256>`` after its bytes hash to that name (written to a temporary file in
the same directory, then ``os.replace``: a killed upload leaves no half file under a real name). A model
that needs its files side by side (an OpenVINO ``.xml`` + ``.bin``, ONNX external data) is assembled as
hard links in ``models/<digest of the file list>/``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = ["ArtifactCache", "BadUpload"]

_SHA = re.compile(r"[0-9a-f]{64}")


class BadUpload(ValueError):
    """An upload or file list the cache refuses (the agent answers 400)."""


def valid_digest(digest: str) -> bool:
    return bool(_SHA.fullmatch(digest))


def _valid_name(name: str) -> bool:
    return bool(name) and len(name) <= 255 and Path(name).name == name and not name.startswith(".")


class ArtifactCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.models = root / "models"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.models.mkdir(parents=True, exist_ok=True)

    def has(self, digest: str) -> bool:
        return valid_digest(digest) and (self.blobs / digest).is_file()

    def put(self, digest: str, stream: BinaryIO, length: int) -> None:
        """Store ``length`` bytes from ``stream`` as ``digest``; ``BadUpload`` when they hash otherwise."""
        if not valid_digest(digest):
            raise BadUpload(f"{digest!r} is not a sha256 hex digest")
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.blobs, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                left = length
                while left:
                    chunk = stream.read(min(left, 1 << 20))
                    if not chunk:
                        raise BadUpload(f"the upload ended after {length - left} of {length} bytes")
                    h.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
            if h.hexdigest() != digest:
                raise BadUpload(f"the uploaded bytes hash to {h.hexdigest()}, not {digest}")
            os.replace(tmp, self.blobs / digest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def assemble(self, files: Sequence[tuple[str, str]]) -> Path:
        """The model file of ``files`` ((name, sha256), main file first), with its side files beside it."""
        if not files:
            raise BadUpload("no files given")
        for name, digest in files:
            if not _valid_name(name):
                raise BadUpload(f"file name {name!r} is not a plain file name")
            if not self.has(digest):
                raise FileNotFoundError(f"{name} ({digest[:12]}…) has not been uploaded")
        key = hashlib.sha256("\n".join(f"{n}:{d}" for n, d in files).encode()).hexdigest()
        final = self.models / key
        if not final.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=self.models, prefix=".assemble-"))
            try:
                for name, digest in files:
                    try:
                        os.link(self.blobs / digest, tmp / name)
                    except OSError:  # a file system without hard links
                        shutil.copyfile(self.blobs / digest, tmp / name)
                os.replace(tmp, final)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not final.is_dir():  # another request assembled the same model meanwhile: use that one
                    raise
        return final / files[0][0]
