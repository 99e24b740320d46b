"""``Dataset``: real inputs (+ optional labels) with fixed splits.

One dataset feeds calibration, verification, accuracy and benchmarks alike. Inputs are
N-first arrays keyed by model input name (a single-input dataset may use the key ``x``,
which is matched to the model's only input). Splits are index arrays named ``train``,
``calibration`` and ``test``. Loaders: ``.npz`` files, synthetic inputs
(``edgeport.core.inputs.synthetic_feeds``), and the built-in
``digits`` data (``load_dataset("digits")``; the example model trained on it is in ``examples``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._optional import require
from edgeport.core.tensors import TensorSpec
from edgeport.errors import DatasetError

__all__ = ["BUILTIN_DATASETS", "DIGITS_SHAPE", "Dataset", "digits", "load_dataset", "load_npz", "sample_fits"]

SPLITS = ("train", "calibration", "test")
DIGITS_SHAPE = (1, 1, 8, 8)


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    inputs: Mapping[str, np.ndarray]
    labels: np.ndarray | None = None
    splits: Mapping[str, np.ndarray] = field(default_factory=dict)
    preprocessing: str = "none"
    source: str = ""  # where it came from: "builtin:digits", a .npz path, ...
    task: str = "classification"  # "classification" | "regression" | "embedding" | "unknown"

    def __post_init__(self) -> None:
        if not self.inputs:
            raise DatasetError(f"dataset {self.name!r} has no input arrays", fix="add an array named 'x'")
        counts = {k: len(v) for k, v in self.inputs.items()}
        if len(set(counts.values())) != 1:
            raise DatasetError(f"dataset {self.name!r}: inputs have different sample counts {counts}",
                               fix="give every input array the same first dimension")
        if self.labels is not None and len(self.labels) != self.count:
            raise DatasetError(f"dataset {self.name!r}: {len(self.labels)} labels for {self.count} samples",
                               fix="give one label per sample")

    # ---- shape -----------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(next(iter(self.inputs.values())))

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def input_names(self) -> list[str]:
        return list(self.inputs)

    # ---- splits ----------------------------------------------------------------------------
    def split(self, name: str) -> Dataset:
        """The samples of split ``name`` (``all`` for everything)."""
        if name == "all":
            return self
        if name not in self.splits:
            if name == "calibration" and "train" in self.splits:
                name = "train"
            elif name in SPLITS and not self.splits:
                return self  # a dataset without declared splits uses every sample for everything
            else:
                raise DatasetError(f"dataset {self.name!r} has no split {name!r}",
                                   fix=f"use one of: {', '.join(self.splits) or 'all'}")
        idx = np.asarray(self.splits[name])
        return self.take(idx, name=f"{self.name}[{name}]")

    def take(self, idx: np.ndarray | Sequence[int] | slice, *, name: str | None = None) -> Dataset:
        idx_arr = np.arange(self.count)[idx] if isinstance(idx, slice) else np.asarray(idx)
        return Dataset(name=name or self.name, inputs={k: v[idx_arr] for k, v in self.inputs.items()},
                       labels=None if self.labels is None else self.labels[idx_arr], splits={},
                       preprocessing=self.preprocessing, source=self.source, task=self.task)

    def head(self, n: int) -> Dataset:
        return self.take(slice(0, min(n, self.count)), name=self.name)

    # ---- feeding models --------------------------------------------------------------------
    def bind(self, specs: Sequence[TensorSpec]) -> dict[str, str]:
        """Map model input names to dataset keys; ``DatasetError`` when they cannot match."""
        keys = list(self.inputs)
        names = [s.name for s in specs]
        if set(names) <= set(keys):
            mapping = {n: n for n in names}
        elif len(names) == 1 and len(keys) == 1:
            mapping = {names[0]: keys[0]}
        else:
            raise DatasetError(f"dataset {self.name!r} arrays {keys} do not match model inputs {names}",
                               fix="name the .npz arrays after the model inputs")
        for spec in specs:
            self._fed_whole(spec, self.inputs[mapping[spec.name]])
        return mapping

    def _fed_whole(self, spec: TensorSpec, arr: np.ndarray) -> bool:
        """Whether samples of ``arr`` are whole feeds for ``spec`` (``arr[i]``) rather than rows of a batch.

        A sample of rank ``len(spec.shape) - 1`` matching ``spec.shape[1:]`` is one row of a batch along
        dim 0; a sample matching the whole ``spec.shape`` (a fixed leading dim such as a recurrent state's
        ``[2, ?, 128]``, or a rank-0 scalar) is fed as it is. ``DatasetError`` when neither fits.
        """
        sample = arr.shape[1:]
        if spec.shape and sample_fits(sample, spec.shape[1:]):
            return False
        if sample_fits(sample, spec.shape):
            return True
        raise DatasetError(
            f"dataset {self.name!r} sample shape {tuple(sample)} does not match model input "
            f"{spec.name!r} {spec.shape_str()} (a sample is one batch row, or one whole feed)",
            fix="preprocess the data to the model's input shape")

    def batch_size(self, specs: Sequence[TensorSpec], wanted: int = 1) -> int:
        """Samples per feed the model accepts: 1 when some input is fed whole, a fixed batch dim's size,
        else ``wanted``."""
        if self.fed_whole(specs):
            return 1
        fixed: set[int] = set()
        for spec in specs:
            if isinstance(spec.shape[0], int) and spec.shape[0] > 0:
                fixed.add(spec.shape[0])
        if len(fixed) > 1:
            raise DatasetError(f"model inputs have different fixed batch sizes {sorted(fixed)}",
                               fix="feed the model through Runtime.run with explicit feeds")
        return fixed.pop() if fixed else max(1, wanted)

    def fed_whole(self, specs: Sequence[TensorSpec]) -> bool:
        """True when some input's samples are whole feeds, so the model takes one sample per feed."""
        mapping = self.bind(specs)
        return any(self._fed_whole(s, self.inputs[mapping[s.name]]) for s in specs)

    def chunks(self, specs: Sequence[TensorSpec], batch_size: int = 1) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(samples in the feed, feeds), ``batch_size`` clamped by ``batch_size()``; the last may be short."""
        mapping = self.bind(specs)
        step = self.batch_size(specs, batch_size)
        whole = {s.name for s in specs if self._fed_whole(s, self.inputs[mapping[s.name]])}
        for start in range(0, self.count, step):
            n = min(step, self.count - start)
            yield n, {name: (self.inputs[key][start, ...] if name in whole else self.inputs[key][start:start + n])
                      for name, key in mapping.items()}

    def batches(self, specs: Sequence[TensorSpec], batch_size: int = 1) -> Iterator[dict[str, np.ndarray]]:
        """Feeds for a model, up to ``batch_size`` samples at a time (the last batch may be short).

        The size is clamped to what the model takes: a fixed batch dim B gives B samples per feed; an input
        fed whole (see ``bind``) makes it one sample per feed.
        """
        for _, feeds in self.chunks(specs, batch_size):
            yield feeds

    def feeds(self, specs: Sequence[TensorSpec], index: int = 0, batch_size: int = 1) -> dict[str, np.ndarray]:
        """The feed starting at sample ``index`` (``batch_size`` clamped as in ``batches``)."""
        if not 0 <= index < self.count:
            raise DatasetError(f"dataset {self.name!r} has {self.count} samples, no sample {index}",
                               fix=f"use an index below {self.count}")
        return next(self.take(slice(index, self.count)).batches(specs, batch_size))

    # ---- persistence -----------------------------------------------------------------------
    def save_npz(self, path: str | Path) -> Path:
        """Write to ``.npz`` atomically (inputs under their names, ``y`` labels, ``split_*`` indices)."""
        path = Path(path)
        arrays: dict[str, Any] = dict(self.inputs)
        if self.labels is not None:
            arrays["y"] = self.labels
        for split, idx in self.splits.items():
            arrays[f"split_{split}"] = np.asarray(idx)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        os.close(fd)
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "count": self.count,
                "inputs": {k: [list(v.shape[1:]), str(v.dtype)] for k, v in self.inputs.items()},
                "labels": self.labels is not None, "splits": {k: int(len(v)) for k, v in self.splits.items()},
                "preprocessing": self.preprocessing, "task": self.task}


def sample_fits(sample: Sequence[int], want: Sequence[object]) -> bool:
    """Whether a sample shape matches declared dims (a symbolic, unknown or negative dim matches any size)."""
    return len(sample) == len(want) and all(not isinstance(w, int) or w < 0 or w == g for g, w in zip(sample, want))


def _default_splits(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_test = max(1, n // 5)
    n_cal = max(1, min(256, (n - n_test) // 5))
    return {"test": np.sort(perm[:n_test]), "calibration": np.sort(perm[n_test:n_test + n_cal]),
            "train": np.sort(perm[n_test:])}


def load_npz(path: str | Path) -> Dataset:
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such dataset file", fix="check the path (or use --data digits)")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{p}: not a readable .npz file ({exc})",
                           fix="save arrays with numpy.savez(path, x=inputs, y=labels)") from exc
    labels = arrays.pop("y", None)
    splits = {k[len("split_"):]: v for k, v in list(arrays.items()) if k.startswith("split_")}
    for k in list(arrays):
        if k.startswith("split_"):
            del arrays[k]
    if not arrays:
        raise DatasetError(f"{p}: no input arrays (only labels/splits)", fix="add inputs as array 'x'")
    n = len(next(iter(arrays.values())))
    if not splits:
        splits = _default_splits(n)
    task = "classification" if labels is not None and labels.dtype.kind in "iu" else (
        "regression" if labels is not None else "unknown")
    return Dataset(name=p.stem, inputs=arrays, labels=labels, splits=splits, source=str(p), task=task)


def digits() -> Dataset:
    """scikit-learn's 8×8 digits, scaled to [0, 1], NCHW float32, fixed 64/16/20 split."""
    datasets = require("sklearn.datasets", "torch", "the built-in digits dataset")
    raw = datasets.load_digits()
    x = (raw.data.astype(np.float32) / 16.0).reshape(-1, *DIGITS_SHAPE[1:])
    y = raw.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(x))
    n_test = 360
    test, rest = np.sort(perm[:n_test]), perm[n_test:]
    calibration = np.sort(rest[:256])
    return Dataset(name="digits", inputs={"x": x}, labels=y,
                   splits={"train": np.sort(rest), "calibration": calibration, "test": test},
                   preprocessing="pixel/16 → [0,1], NCHW 1×8×8", source="builtin:digits",
                   task="classification")


BUILTIN_DATASETS: dict[str, Callable[[], Dataset]] = {"digits": digits}


def load_dataset(spec: str | Path | Dataset) -> Dataset:
    """A dataset from a built-in name (``digits``) or an ``.npz`` path."""
    if isinstance(spec, Dataset):
        return spec
    text = str(spec)
    name = text.removeprefix("builtin:")
    if name in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[name]()
    if text.endswith(".npz") or Path(text).exists():
        return load_npz(text)
    raise DatasetError(f"unknown dataset {text!r}",
                       fix=f"pass an .npz file or a built-in name ({', '.join(BUILTIN_DATASETS)})")
