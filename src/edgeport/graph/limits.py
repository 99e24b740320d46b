"""Sizes no edge model declares: the line between a big model and a corrupt (or mis-exported) file.

Analyses multiply declared dims into MACs and bytes, and ``bench``/``verify`` allocate synthetic
inputs of the declared size, so a dimension edited to 2^40 must be refused when the model is read,
naming the tensor, instead of overflowing a numpy product or asking for terabytes of memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from edgeport.core.tensors import TensorSpec
from edgeport.errors import ModelFileError

__all__ = ["MAX_DIM", "MAX_ELEMENTS", "MAX_IO_BYTES", "check_dims", "check_io_size"]

MAX_DIM = 2**31 - 1  # TFLite stores dims as int32; ONNX Runtime and the others index within it too
MAX_ELEMENTS = 2**40  # elements of one tensor: far above any weight or activation of a deployable model
MAX_IO_BYTES = 2**31  # bytes of one model input or output (one sample at the declared shape)

_FIX = "re-export the model with its real shapes (the file is corrupt or the export wrote a wrong shape)"


def _text(dims: Iterable[object]) -> str:
    return "×".join(str(d) for d in dims) or "scalar"


def check_dims(path: str | Path, what: str, dims: Iterable[int | str | None]) -> None:
    """Raise ``ModelFileError`` when static ``dims`` hold a dim over ``MAX_DIM`` or, together, more than
    ``MAX_ELEMENTS`` elements (symbolic and unknown dims are not counted)."""
    dims = tuple(dims)
    numel = 1
    for d in dims:
        if isinstance(d, int):
            if d > MAX_DIM or d < 0:
                raise ModelFileError(f"{path}: {what} declares dimension {d} (shape {_text(dims)}); "
                                     f"dimensions are 0..{MAX_DIM}", fix=_FIX)
            numel *= d
    if numel > MAX_ELEMENTS:
        raise ModelFileError(f"{path}: {what} declares shape {_text(dims)} = {numel:.3g} elements, more than "
                             f"any deployable model holds ({MAX_ELEMENTS:.3g})", fix=_FIX)


def check_io_size(path: str | Path, spec: TensorSpec) -> None:
    """Refuse a model input/output whose declared static size is over ``MAX_IO_BYTES`` (one sample), before
    anything allocates synthetic data or runtime buffers for it."""
    check_dims(path, f"{spec.name!r}", spec.shape)
    numel = 1
    for d in spec.shape:
        if isinstance(d, int):
            numel *= d
    try:
        itemsize = np.dtype(spec.dtype).itemsize
    except TypeError:  # string and other non-numpy types
        itemsize = 1
    if numel * itemsize > MAX_IO_BYTES:
        raise ModelFileError(f"{path}: {spec.name!r} declares shape {_text(spec.shape)} {spec.dtype} = "
                             f"{numel * itemsize / 2**30:.1f} GiB for one sample, more than the "
                             f"{MAX_IO_BYTES / 2**30:.0f} GiB any edge model's input or output holds", fix=_FIX)
