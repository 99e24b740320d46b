"""Open the variant the selector chose as an edgeport ``Runtime`` — from memory when it was decrypted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.runtimes.base import Runtime, RuntimeOptions, open_runtime

__all__ = ["open_selection"]


def open_selection(selection: Any, options: RuntimeOptions | None = None) -> Runtime:
    """A (not yet opened) runtime for ``selection`` (``deploy.select.Selection``) on the variant's runtime.

    An encrypted package's variant loads from ``selection.model_bytes``: the plaintext stays in memory;
    its I/O specs come from the loaded model, since the file on disk is ciphertext.
    """
    variant = selection.variant
    if options is None:
        from edgeport.runtimes import RUNTIMES

        options = RUNTIMES.get(variant["runtime"]).Options(threads=variant.get("threads"))
    if selection.model_bytes is None:
        return open_runtime(load_artifact(selection.path), variant["runtime"], options)
    artifact = Artifact(path=Path(selection.path), format=Format(variant["format"]), inputs=(), outputs=())
    return open_runtime(artifact, variant["runtime"], options, model_bytes=selection.model_bytes)
