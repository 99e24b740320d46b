"""Content-addressed build output for studies whose builds run in other processes or on other machines.

A build writes into its own private ``.partial-*`` directory under the artifact root; when it has
finished, the directory is named by the SHA-256 of what it holds and moved into place with one
``rename`` — atomic on one filesystem, so a reader sees either no directory or a complete one. A build
killed half-way leaves only its partial directory (the driver removes its own run's partials at the
end); a retried build lands in the same place when it writes the same bytes, and two builds of the same
content share one directory.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from edgeport.core.artifact import Artifact

__all__ = ["PARTIAL_PREFIX", "content_digest", "new_partial", "publish", "remove_partials"]

PARTIAL_PREFIX = ".partial-"


def new_partial(root: Path, run: str) -> Path:
    """A fresh private directory for one build of the run ``run`` (the driver's token)."""
    path = root / f"{PARTIAL_PREFIX}{run}-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path


def content_digest(directory: Path) -> str:
    """SHA-256 over every file under ``directory``: its relative path and its bytes, in sorted order."""
    h = hashlib.sha256()
    for f in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(f.relative_to(directory).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def publish(partial: Path, artifact: Artifact) -> Artifact:
    """Move the finished build in ``partial`` to ``<root>/<digest>/`` and return ``artifact`` pointing there."""
    final = partial.parent / content_digest(partial)[:20]
    try:
        os.rename(partial, final)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        shutil.rmtree(partial)  # the same bytes are already published: a retry or an identical build
    return dataclasses.replace(artifact, path=final / artifact.path.relative_to(partial))


def remove_partials(root: Path, run: str) -> None:
    """Remove the partial directories builds of the run ``run`` left (a killed worker's)."""
    if root.is_dir():
        for p in root.glob(f"{PARTIAL_PREFIX}{run}-*"):
            shutil.rmtree(p, ignore_errors=True)
