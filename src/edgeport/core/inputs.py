"""What the user says about a model's inputs — shapes and values — and the synthetic feeds made from it.

A model file declares its inputs' specs, often with symbolic or unknown dims (``[?, 3, ?, ?]``). An
``InputPlan`` holds what the user adds on top: concrete shapes (``--shape x=1x3x640x640``), value
sources (``--input sr=16000``, ``state=s.npy``, ``x=uniform(0,1)``) and a batch size for symbolic
batch dims. ``apply_plan`` checks a plan against the declared specs (unknown name, rank mismatch,
non-positive dim, a fixed dim contradicted, a ``.npy`` of the wrong dtype or shape: one
``ConfigError`` naming the input and its declared shape) and returns the concrete specs.

``synthetic_feeds`` makes data a model accepts when the user gave none. Rules, in order:

* a value the user gave wins (a literal is broadcast to the input's shape; a rank-0 input stays a scalar);
* fixed dims are kept; a *batch dim* takes the plan's batch (default 1) — a batch dim is a symbolic
  dim 0, any dim sharing its symbol name, and dim 1 of a recurrent state laid out ``[layers, ?, hidden]``
  (the ONNX RNN state layout, e.g. silero's ``state`` ``[2, ?, 128]``); every other unknown dim is 1,
  and ``unknown_dims_note`` says so in one line naming ``--shape``;
* recurrent-state inputs (named ``state``, ``hidden``, ``cache``, ``past``, ``memory``, ``h0``, ``c0``)
  start at zeros, as a streaming model does on its first call;
* float inputs are N(0, 1); bool inputs 0/1; other integer inputs small non-negative ints in [0, 8)
  (valid indices for any vocabulary of 8 or more) unless the user gave ``uniform(LO,HI)``.

Samples are stored along axis 0 of a ``Dataset`` (see ``Dataset.bind``): when every input has a
symbolic batch dim 0, a sample is one row (``spec.shape[1:]``) and feeds batch them; otherwise each
sample is a whole feed (``spec.shape``), so scalars stay rank 0 and fixed leading dims are untouched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeport._registry import resolve
from edgeport.core.tensors import TensorSpec
from edgeport.errors import ConfigError

__all__ = ["InputPlan", "ValueSource", "apply_plan", "batch_axes", "constant_values", "feeds_whole", "parse_shape",
           "synthetic_arrays", "synthetic_feeds", "unknown_dims", "unknown_dims_note"]

ONLY = ""  # the key of a positional --shape / --input: the model's only input
STATE_WORDS = ("state", "hidden", "cache", "past", "memory")
_STATE_NAMES = re.compile(rf"(^|[^a-z])({'|'.join(STATE_WORDS)})|^[hc]0?$|^[hc]_?0$", re.IGNORECASE)
_CALL = re.compile(r"^(uniform|normal)\(\s*([^,()]+)\s*,\s*([^,()]+)\s*\)$", re.IGNORECASE)


@dataclass(frozen=True)
class ValueSource:
    """Where an input's values come from: a literal, a ``.npy`` file, or a distribution."""

    kind: str  # "literal" | "file" | "uniform" | "normal"
    text: str  # as the user wrote it (the literal, the path, the call)
    args: tuple[float, ...] = ()  # literal: (value,); uniform: (lo, hi); normal: (mean, std)

    @classmethod
    def parse(cls, name: str, text: str) -> ValueSource:
        text = text.strip()
        call = _CALL.match(text)
        if call:
            kind = call.group(1).lower()
            lo, hi = (_number(name, call.group(i), text) for i in (2, 3))
            if kind == "uniform" and not lo < hi:
                raise ConfigError(f"--input {name}={text}: uniform needs LO < HI", fix="e.g. uniform(0,1)")
            if kind == "normal" and not hi > 0:
                raise ConfigError(f"--input {name}={text}: normal needs STD > 0", fix="e.g. normal(0,1)")
            return cls(kind, text, (lo, hi))
        if text.lower().endswith(".npy"):
            return cls("file", text)
        if text.lower() in ("true", "false"):
            return cls("literal", text, (1.0 if text.lower() == "true" else 0.0,))
        return cls("literal", text, (_number(name, text, text),))

    def to_text(self) -> str:
        return self.text


def _number(name: str, part: str, text: str) -> float:
    try:
        value = float(part)
    except ValueError:
        raise ConfigError(f"--input {name}={text}: {part.strip()!r} is not a number, a .npy file, "
                          "uniform(LO,HI) or normal(MEAN,STD)", fix=f"e.g. --input {name}=0.5") from None
    if not math.isfinite(value):
        raise ConfigError(f"--input {name}={text}: {part.strip()!r} is not finite", fix="give a finite number")
    return value


def parse_shape(text: str, *, name: str = "") -> tuple[int, ...]:
    """``1x3x640x640`` (also ``1,3,640,640``; ``scalar`` or empty for rank 0) → a tuple of ints.

    Dims are checked against the model (positive, right rank, fixed dims kept) by ``apply_plan``, whose
    message can name the input's declared shape."""
    body = text.strip().strip("[]()")
    if body.lower() in ("", "scalar"):
        return ()
    parts = re.split(r"\s*[x×,]\s*|(?<=\d)\s+(?=-?\d)", body)
    label = f"{name}={text}" if name else text
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--shape {label}: not a shape", fix="write dims separated by x, e.g. 1x3x640x640") from None
    return dims


def _split(option: str, item: str) -> tuple[str, str]:
    """``NAME=VALUE`` → (NAME, VALUE); a bare VALUE is positional (the model's only input)."""
    name, sep, value = item.partition("=")
    if not sep:
        return ONLY, item
    name = name.strip()
    if not name:
        raise ConfigError(f"{option} {item!r}: empty input name", fix=f"write {option} NAME=VALUE")
    return name, value


@dataclass(frozen=True)
class InputPlan:
    """User-given input shapes and values. ``InputPlan()`` means "nothing given": use the declared specs.

    Keys are model input names; the key ``""`` stands for the model's only input (a positional
    ``--shape 1x3x224x224``) and is resolved by ``apply_plan``.
    """

    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    values: Mapping[str, ValueSource] = field(default_factory=dict)
    batch: int | None = None

    def __post_init__(self) -> None:
        # plain dicts (copied, normalised): ``dataclasses.asdict`` of options holding a plan must work
        object.__setattr__(self, "shapes", {k: tuple(int(d) for d in v) for k, v in dict(self.shapes).items()})
        object.__setattr__(self, "values", {k: v if isinstance(v, ValueSource) else ValueSource.parse(k, str(v))
                                            for k, v in dict(self.values).items()})
        if self.batch is not None and int(self.batch) <= 0:
            raise ConfigError(f"batch {self.batch} must be positive", fix="e.g. --batch 1")

    @classmethod
    def parse(cls, shapes: Iterable[str] | Mapping[str, str | Sequence[int]] | None = None,
              inputs: Iterable[str] | Mapping[str, str | float] | None = None,
              batch: int | None = None) -> InputPlan:
        """From ``--shape NAME=1x3x640x640`` / ``--input NAME=VALUE`` strings, or mappings of the same
        (a recipe's ``[inputs]`` table: ``shape = {x = "1x3x640x640"}``, ``value = {sr = 16000}``)."""
        parsed_shapes: dict[str, tuple[int, ...]] = {}
        for name, text in _items("--shape", shapes):
            if name in parsed_shapes:
                raise ConfigError(f"--shape {name or '(positional)'} given twice", fix="give each input once")
            parsed_shapes[name] = (tuple(int(d) for d in text) if not isinstance(text, str)
                                   else parse_shape(text, name=name))
        values: dict[str, ValueSource] = {}
        for name, text in _items("--input", inputs):
            if name in values:
                raise ConfigError(f"--input {name or '(positional)'} given twice", fix="give each input once")
            values[name] = ValueSource.parse(name, str(text))
        return cls(parsed_shapes, values, batch)

    @property
    def empty(self) -> bool:
        return not self.shapes and not self.values and self.batch is None

    def with_defaults(self, defaults: InputPlan) -> InputPlan:
        """This plan, filling what it leaves open from ``defaults`` (e.g. values read from the graph)."""
        return InputPlan({**defaults.shapes, **self.shapes}, {**defaults.values, **self.values},
                         self.batch if self.batch is not None else defaults.batch)

    def named(self, specs: Sequence[TensorSpec]) -> InputPlan:
        """This plan with a positional key replaced by the model's input name (``ConfigError`` if it has none)."""
        shapes, values = _resolved(specs, self)
        return InputPlan(shapes, values, self.batch)

    def only(self, names: Iterable[str]) -> InputPlan:
        """The entries for ``names`` (e.g. the inputs a converted model kept, by name)."""
        keep = set(names)
        return InputPlan({k: v for k, v in self.shapes.items() if k in keep},
                         {k: v for k, v in self.values.items() if k in keep}, self.batch)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an artifact's ``metadata["input_plan"]``, a child process's options)."""
        return {"shapes": {k: list(v) for k, v in self.shapes.items()},
                "values": {k: v.text for k, v in self.values.items()}, "batch": self.batch}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> InputPlan:
        data = data or {}
        return cls({k: tuple(v) for k, v in (data.get("shapes") or {}).items()},
                   {k: ValueSource.parse(k, str(v)) for k, v in (data.get("values") or {}).items()},
                   data.get("batch"))

    @classmethod
    def of(cls, metadata: Mapping[str, Any]) -> InputPlan:
        """The plan recorded on an artifact (``Artifact.with_inputs``), or the empty plan."""
        return cls.from_dict(metadata.get("input_plan"))

    def flags(self) -> str:
        """The CLI flags that give this plan (for messages and reproducible commands)."""
        parts = [f"--shape {k + '=' if k else ''}{'x'.join(map(str, v)) or 'scalar'}" for k, v in self.shapes.items()]
        parts += [f"--input {k + '=' if k else ''}{v.text}" for k, v in self.values.items()]
        return " ".join(parts)


def _items(option: str, given: Iterable[str] | Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    if not given:
        return []
    if isinstance(given, Mapping):
        return [(str(k), v) for k, v in given.items()]
    if isinstance(given, str):
        given = [given]
    return [_split(option, item) for item in given]


# ---- applying a plan to declared specs -----------------------------------------------------------
def _declared(spec: TensorSpec) -> str:
    return f"{spec.name!r} (declared {spec.shape_str()} {spec.dtype})"


def _resolve_names(specs: Sequence[TensorSpec], keys: Iterable[str], option: str) -> dict[str, str]:
    """Plan key → input name; the positional key works only for a single-input model."""
    names = [s.name for s in specs]
    declared = ", ".join(f"{s.name} {s.shape_str()}" for s in specs) or "none"
    out: dict[str, str] = {}
    for key in keys:
        if key == ONLY:
            if len(specs) != 1:
                raise ConfigError(f"{option} without a name, but the model has {len(specs)} inputs ({declared})",
                                  fix=f"name the input: {option} NAME=...")
            out[key] = names[0]
        elif key not in names:
            raise ConfigError(f"{option} {key}: the model has no input {key!r} (its inputs: {declared})",
                              fix=f"use one of: {', '.join(names)}")
        else:
            out[key] = key
    if len(set(out.values())) != len(out):
        raise ConfigError(f"{option} gives input {names[0]!r} twice", fix="give each input once")
    return out


def _check_shape(spec: TensorSpec, shape: tuple[int, ...], source: str) -> None:
    if len(shape) != len(spec.shape):
        raise ConfigError(f"{source} for input {_declared(spec)} has rank {len(shape)}, the model's is "
                          f"{len(spec.shape)}", fix=f"give {len(spec.shape)} dims")
    for axis, (got, want) in enumerate(zip(shape, spec.shape)):
        if got <= 0:
            raise ConfigError(f"{source} for input {_declared(spec)}: dim {axis} is {got}, not positive",
                              fix="every dim must be 1 or more")
        if isinstance(want, int) and want > 0 and got != want:
            raise ConfigError(f"{source} for input {_declared(spec)}: dim {axis} is fixed at {want}, not {got}",
                              fix=f"keep dim {axis} at {want}")


def _file_array(spec: TensorSpec, source: ValueSource) -> np.ndarray:
    """A ``.npy`` value checked against the input: its dtype, and one feed's shape or a stack of feeds."""
    path = Path(source.text).expanduser()
    if not path.is_file():
        raise ConfigError(f"--input {spec.name}={source.text}: no such file", fix="check the path")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ConfigError(f"--input {spec.name}={source.text}: not a readable .npy file ({exc})",
                          fix="save it with numpy.save") from None
    if arr.dtype != np.dtype(spec.dtype):
        raise ConfigError(f"--input {spec.name}={source.text} has dtype {arr.dtype}, input {_declared(spec)} "
                          f"takes {spec.dtype}", fix=f"save it as {spec.dtype} (array.astype('{spec.dtype}'))")
    if spec.accepts(np.empty(arr.shape, dtype=np.uint8) if arr.ndim == len(spec.shape) else np.empty(())) is None:
        return arr
    if arr.ndim == len(spec.shape) + 1 and spec.accepts(np.empty(arr.shape[1:], dtype=np.uint8)) is None:
        return arr  # a stack of feeds: one per sample
    raise ConfigError(f"--input {spec.name}={source.text} has shape {tuple(arr.shape)}, input {_declared(spec)} "
                      "does not take it", fix="save one feed of the declared shape (or a stack of them)")


def _file_feed_shape(spec: TensorSpec, arr: np.ndarray) -> tuple[int, ...]:
    return tuple(arr.shape) if arr.ndim == len(spec.shape) else tuple(arr.shape[1:])


def constant_values(specs: Sequence[TensorSpec], plan: InputPlan) -> dict[str, np.ndarray]:
    """Input name → the one value the plan fixes for it: a literal (a scalar for a rank-0 input, else
    broadcast to the input's concrete shape) or a ``.npy`` holding one feed. Converters may bake such
    values into the model (e.g. a sample rate an ``If`` branches on); distributions are not constants."""
    shaped = {s.name: s for s in concrete_specs(apply_plan(specs, plan), plan.batch)}
    _, values = _resolved(specs, plan)
    out: dict[str, np.ndarray] = {}
    for name, source in values.items():
        spec = shaped[name]
        if source.kind == "literal":
            out[name] = np.full(spec.shape, source.args[0]).astype(spec.dtype)
        elif source.kind == "file":
            arr = np.asarray(_file_array(spec, source))
            if arr.ndim == len(spec.shape):
                out[name] = arr
    return out


def _resolved(specs: Sequence[TensorSpec], plan: InputPlan) -> tuple[dict[str, tuple[int, ...]],
                                                                    dict[str, ValueSource]]:
    names = _resolve_names(specs, plan.shapes, "--shape")
    shapes = {names[k]: v for k, v in plan.shapes.items()}
    vnames = _resolve_names(specs, plan.values, "--input")
    return shapes, {vnames[k]: v for k, v in plan.values.items()}


def apply_plan(specs: Sequence[TensorSpec], plan: InputPlan | None) -> tuple[TensorSpec, ...]:
    """The declared ``specs`` with the plan's shapes applied (and shapes implied by ``.npy`` values and the
    plan's batch); ``ConfigError`` naming the input and its declared shape when the plan does not fit.

    A symbol is one size everywhere: fixing ``x``'s ``batch`` to 1 fixes every other input's ``batch`` too."""
    specs = tuple(specs)
    if plan is None or plan.empty:
        return specs
    shapes, values = _resolved(specs, plan)
    batch_dims = batch_axes(specs)
    given: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        shape = shapes.get(spec.name)
        if shape is not None:
            _check_shape(spec, shape, f"--shape {spec.name}={'x'.join(map(str, shape)) or 'scalar'}")
        source = values.get(spec.name)
        if source is not None and source.kind == "file":
            feed_shape = _file_feed_shape(spec, _file_array(spec, source))
            if shape is not None and feed_shape != shape:
                raise ConfigError(f"--input {spec.name}={source.text} has shape {feed_shape}, but --shape gives "
                                  f"{'x'.join(map(str, shape))} for input {_declared(spec)}",
                                  fix="make them agree (or drop --shape)")
            shape = feed_shape
        if shape is not None:
            given[spec.name] = shape
    bound = {d: v for spec in specs if spec.name in given
             for d, v in zip(spec.shape, given[spec.name]) if isinstance(d, str)}
    out: list[TensorSpec] = []
    for spec in specs:
        if spec.name in given:
            out.append(replace(spec, shape=given[spec.name]))
            continue
        axes = batch_dims.get(spec.name, ())
        out.append(replace(spec, shape=tuple(
            bound[d] if isinstance(d, str) and d in bound else
            plan.batch if plan.batch is not None and i in axes else d for i, d in enumerate(spec.shape))))
    return tuple(out)


# ---- which dims are what -------------------------------------------------------------------------
def _is_state(spec: TensorSpec) -> bool:
    return bool(_STATE_NAMES.search(spec.name))


def batch_axes(specs: Sequence[TensorSpec]) -> dict[str, tuple[int, ...]]:
    """Input name → its batch axes: a symbolic dim 0, dims sharing that symbol, dim 1 of ``[L, ?, H]`` states."""
    symbols = {s.shape[0] for s in specs if s.shape and isinstance(s.shape[0], str)}
    out: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        axes = [i for i, d in enumerate(spec.shape)
                if (i == 0 and not isinstance(d, int)) or (isinstance(d, str) and d in symbols)]
        shape = spec.shape
        if (len(shape) == 3 and isinstance(shape[0], int) and isinstance(shape[2], int)
                and not isinstance(shape[1], int) and _is_state(spec)):
            axes.append(1)
        if axes:
            out[spec.name] = tuple(sorted(set(axes)))
    return out


def unknown_dims(specs: Sequence[TensorSpec]) -> dict[str, tuple[int, ...]]:
    """Input name → the axes no batch size can fill (not fixed, not a batch dim): only ``--shape`` can."""
    batch = batch_axes(specs)
    out: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        axes = tuple(i for i, d in enumerate(spec.shape)
                     if not (isinstance(d, int) and d > 0) and i not in batch.get(spec.name, ()))
        if axes:
            out[spec.name] = axes
    return out


def unknown_dims_note(specs: Sequence[TensorSpec]) -> str | None:
    """One line when some input dim is unknown: the numbers that depend on it assume 1; name ``--shape``."""
    unknown = unknown_dims(specs)
    if not unknown:
        return None
    by_name = {s.name: s for s in specs}
    batch = batch_axes(specs)
    parts, flags = [], []
    for name, axes in unknown.items():
        spec = by_name[name]
        parts.append(f"{name} {spec.shape_str()} (dim{'s' if len(axes) > 1 else ''} {', '.join(map(str, axes))})")
        example = []
        for i, d in enumerate(spec.shape):
            if isinstance(d, int) and d > 0:
                example.append(str(d))
            elif i in batch.get(name, ()):
                example.append("1")
            else:
                example.append("N" if len(axes) == 1 else "HWDLKM"[axes.index(i) % 6])
        flags.append(f"--shape {name}={'x'.join(example)}")
    return (f"unknown input dims, taken as 1 in every number that depends on them: {'; '.join(parts)} — "
            f"give the real sizes with {' '.join(flags)}")


def concrete_specs(specs: Sequence[TensorSpec], batch: int | None = None) -> tuple[TensorSpec, ...]:
    """Every dim made concrete: batch dims → ``batch`` (default 1), other unknown dims → 1."""
    axes = batch_axes(specs)
    b = batch or 1
    return tuple(replace(s, shape=tuple(d if isinstance(d, int) and d > 0 else (b if i in axes.get(s.name, ()) else 1)
                                        for i, d in enumerate(s.shape))) for s in specs)


def feeds_whole(specs: Sequence[TensorSpec]) -> bool:
    """True when samples must be whole feeds: some input has no symbolic batch dim 0 (a fixed leading dim,
    a batch dim elsewhere, or rank 0), so the model is fed one sample at a time."""
    axes = batch_axes(specs)
    return any(not s.shape or (0 not in axes.get(s.name, ()) and not _fixed_batch_one(s)) for s in specs)


def _fixed_batch_one(spec: TensorSpec) -> bool:
    """A fixed leading 1 on an image/sequence input (``[1, 3, 416, 416]``) is a batch of one, fed in rows like a
    symbolic batch (so a user's ``(N, 3, 416, 416)`` data and synthetic data agree); a state's is not."""
    return len(spec.shape) >= 2 and spec.shape[0] == 1 and not _is_state(spec)


# ---- synthetic data ------------------------------------------------------------------------------
def _values(spec: TensorSpec, shape: tuple[int, ...], source: ValueSource | None, rng: np.random.Generator,
            count: int, whole: bool) -> np.ndarray:
    """``count`` samples for one input (axis 0 = samples), each of ``shape``."""
    dt = np.dtype(spec.dtype)
    full = (count, *shape)
    if source is not None and source.kind == "file":
        arr = np.asarray(_file_array(spec, source))
        if arr.ndim == len(spec.shape) + 1:  # a stack of feeds: cycle through them
            feeds = [arr[i % len(arr)] for i in range(count)]
        else:
            feeds = [arr] * count
        if not whole:  # batched samples: one feed's rows, cycled
            rows = np.concatenate([np.asarray(f) for f in feeds])
            return np.ascontiguousarray(rows[:count] if len(rows) >= count else np.resize(rows, full))
        return np.stack(feeds).astype(dt, copy=False)
    if source is not None and source.kind == "literal":
        return np.full(full, source.args[0]).astype(dt)
    if source is not None and source.kind == "uniform":
        lo, hi = source.args
        if dt.kind in "iub":
            return rng.integers(math.ceil(lo), max(math.ceil(lo) + 1, math.ceil(hi)), full).astype(dt)
        return rng.uniform(lo, hi, full).astype(dt)
    if source is not None and source.kind == "normal":
        mean, std = source.args
        values = rng.normal(mean, std, full)
        return (np.round(values) if dt.kind in "iu" else values).astype(dt)
    if _is_state(spec):
        return np.zeros(full, dtype=dt)
    if dt.kind == "f":
        return rng.standard_normal(full).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, full).astype(bool)
    return rng.integers(0, 8, full).astype(dt)


def synthetic_arrays(specs: Sequence[TensorSpec], count: int, seed: int = 0,
                     plan: InputPlan | None = None) -> tuple[dict[str, np.ndarray], bool]:
    """(input name → ``count`` samples along axis 0, whether each sample is a whole feed)."""
    plan = plan or InputPlan()
    shaped = apply_plan(specs, plan)
    _, values = _resolved(specs, plan)
    whole = feeds_whole(specs)
    concrete = concrete_specs(shaped, plan.batch)
    rng = np.random.default_rng(seed)
    arrays = {}
    for spec, conc in zip(shaped, concrete):
        shape = tuple(conc.shape) if whole else tuple(conc.shape[1:])
        arrays[spec.name] = _values(spec, shape, values.get(spec.name), rng, count, whole)
    return arrays, whole


def synthetic_feeds(specs: Sequence[TensorSpec], count: int = 16, seed: int = 0,
                    plan: InputPlan | None = None) -> Any:
    """A ``Dataset`` of ``count`` synthetic samples the model accepts (labelled synthetic in every result).

    ``Dataset`` lives in the data layer, above core; like ``load_artifact``'s reader lookup, the class
    is late-bound by name at call time (and the return type is ``Any`` here: an annotation would be an import),
    so core keeps no upward import.
    """
    arrays, whole = synthetic_arrays(specs, count, seed, plan)
    plan = plan or InputPlan()
    given = f"; given: {plan.flags()}" if not plan.empty else ""
    note = unknown_dims_note(apply_plan(specs, plan))
    dataset_cls = resolve("edgeport.data.datasets:Dataset")
    return dataset_cls(name="synthetic", inputs=arrays, source="synthetic", task="unknown",
                       preprocessing=("synthetic inputs (no real data was given): floats N(0,1), states zero, "
                                      f"ints in [0,8){given}" + (f"; {note}" if note else "")))
