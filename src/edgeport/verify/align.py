"""Input/output alignment between two artifacts, reported as readable lines.

Two artifacts of the same network rarely agree on the surface: a TFLite model made by onnx2tf
takes NHWC where the source took NCHW, an int8 model takes and returns quantised tensors, and
outputs get renamed. ``align_inputs`` gives each side the dataset in the layout it wants (driven
by ``TensorSpec.layout``; inferred from shapes when layouts are unknown), ``match_outputs``
pairs outputs by name, then by a unique shape, then by order (allowing a layout permutation), and every
adjustment is described in ``lines`` so the result says what was done.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset, sample_fits
from edgeport.errors import DatasetError, InputError

__all__ = ["InputAlignment", "OutputPair", "align_inputs", "layout_perm", "match_outputs", "quant_lines"]

# perm that takes an array in layout A to layout B: out = in.transpose(perm)
_LAYOUT_PERMS = {("NCHW", "NHWC"): (0, 2, 3, 1), ("NHWC", "NCHW"): (0, 3, 1, 2),
                 ("NCW", "NWC"): (0, 2, 1), ("NWC", "NCW"): (0, 2, 1),
                 ("NCDHW", "NDHWC"): (0, 2, 3, 4, 1), ("NDHWC", "NCDHW"): (0, 4, 1, 2, 3)}
_CHANNELS_LAST = {"NHWC", "NWC", "NDHWC"}
_CHANNELS_FIRST = {"NCHW", "NCW", "NCDHW"}


def layout_perm(src: str, dst: str) -> tuple[int, ...] | None:
    return _LAYOUT_PERMS.get((src.upper(), dst.upper()))


def _fits(shape: Sequence[int], spec: TensorSpec) -> bool:
    return sample_fits(shape, spec.shape[1:])


def _fits_whole(shape: Sequence[int], spec: TensorSpec) -> bool:
    """A sample that is one whole feed (a scalar, a state ``[2, 1, 128]``), as ``Dataset.bind`` accepts it."""
    return sample_fits(shape, spec.shape)


def _fitting_perms(sample: Sequence[int], spec: TensorSpec) -> list[tuple[int, ...]]:
    """Non-identity permutations of the sample axes that make the data fit ``spec`` (batch axis fixed)."""
    rank = len(sample)
    if rank < 2 or rank > 5 or len(spec.shape) != rank + 1:
        return []
    found = []
    for p in itertools.permutations(range(rank)):
        if p == tuple(range(rank)):
            continue
        if _fits([sample[i] for i in p], spec):
            found.append((0, *(i + 1 for i in p)))
    return found


@dataclass
class InputAlignment:
    """The dataset one side is fed, and what was done to get it."""

    dataset: Dataset
    perms: dict[str, tuple[int, ...]] = field(default_factory=dict)  # model input -> transpose applied
    lines: list[str] = field(default_factory=list)


def _bind_keys(data: Dataset, specs: Sequence[TensorSpec]) -> dict[str, str]:
    keys = list(data.inputs)
    names = [s.name for s in specs]
    if set(names) <= set(keys):
        return {n: n for n in names}
    if len(names) == 1 and len(keys) == 1:
        return {names[0]: keys[0]}
    raise DatasetError(f"dataset {data.name!r} arrays {keys} do not match model inputs {names}",
                       fix="name the .npz arrays after the model inputs")


def align_inputs(data: Dataset, specs: Sequence[TensorSpec], side: str,
                 data_layout: str | None = None) -> InputAlignment:
    """Give ``side`` (``reference``/``test``) the dataset in the layout its inputs want.

    ``data_layout`` is the dataset's own layout when known (e.g. the reference input's layout).
    A spec with ``layout`` set drives the transpose; otherwise a unique axis permutation that
    makes the shapes fit is applied and reported as inferred.
    """
    mapping = _bind_keys(data, specs)
    arrays = dict(data.inputs)
    result = InputAlignment(dataset=data)
    changed = False
    for spec in specs:
        key = mapping[spec.name]
        arr = arrays[key]
        sample = arr.shape[1:]
        if _fits(sample, spec) or _fits_whole(sample, spec):  # a batch row, or a whole feed (Dataset.bind)
            continue
        perm: tuple[int, ...] | None = None
        how = ""
        if spec.layout and data_layout:
            perm = layout_perm(data_layout, spec.layout)
            if perm is not None and not _fits([sample[i - 1] for i in perm[1:]], spec):
                perm = None
            how = f"dataset {data_layout} → {spec.layout} (input layout {spec.layout})"
        if perm is None and spec.layout in _CHANNELS_LAST | _CHANNELS_FIRST:
            src = "NCHW" if spec.layout in _CHANNELS_LAST else "NHWC"
            src = {4: src, 3: src.replace("H", ""), 5: src.replace("HW", "DHW")}.get(len(arr.shape), src)
            cand = layout_perm(src, spec.layout)
            if cand is not None and len(cand) == arr.ndim and _fits([sample[i - 1] for i in cand[1:]], spec):
                perm, how = cand, f"dataset {src} → {spec.layout} (input layout {spec.layout})"
        if perm is None:
            perms = _fitting_perms(sample, spec)
            standard = {4: (0, 2, 3, 1), 3: (0, 2, 1), 5: (0, 2, 3, 4, 1)}.get(arr.ndim)
            if len(perms) == 1:
                perm = perms[0]
                how = f"transposed by {perm}, inferred from shapes (layouts unknown)"
            elif standard in perms:
                perm = standard
                how = (f"transposed channels-first → channels-last {perm}, inferred from shapes (layouts unknown; "
                       f"{len(perms)} permutations fit, the standard one was taken)")
            elif len(perms) > 1:
                raise DatasetError(
                    f"{side} input {spec.name!r} {spec.shape_str()} and dataset sample shape {tuple(sample)} "
                    f"match by several axis permutations {perms}; cannot tell the layout",
                    fix="set the input's layout (TensorSpec.layout) or give data in the model's layout")
        if perm is None:
            raise DatasetError(f"{side} input {spec.name!r} wants {spec.shape_str()} but the dataset sample shape "
                               f"is {tuple(sample)} and no layout transpose makes it fit",
                               fix="preprocess the data to the model's input shape")
        arrays[key] = np.ascontiguousarray(arr.transpose(perm))
        result.perms[spec.name] = perm
        result.lines.append(f"{side} input {spec.name!r}: {how}, {tuple(sample)} → {tuple(arrays[key].shape[1:])}")
        changed = True
    if changed:
        result.dataset = Dataset(name=data.name, inputs=arrays, labels=data.labels, splits=data.splits,
                                 preprocessing=data.preprocessing, source=data.source, task=data.task)
    return result


def quant_lines(side: str, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> list[str]:
    """Say where quantised I/O is (de)quantised with its scale/zero-point (the runtime does it)."""
    lines: list[str] = []
    for spec, what in [(s, "input") for s in inputs] + [(s, "output") for s in outputs]:
        if np.dtype(spec.dtype).kind not in "iu" or spec.dtype in ("int64", "int32", "bool"):
            continue
        if spec.quant is None:
            lines.append(f"{side} {what} {spec.name!r} is {spec.dtype} with no scale/zero-point: "
                         f"values are compared as raw integers")
            continue
        q = spec.quant
        scale = _short(q.scale)
        zp = _short(q.zero_point)
        verb = "float data quantised" if what == "input" else "dequantised to float"
        lines.append(f"{side} {what} {spec.name!r} is {spec.dtype}: {verb} with scale={scale}, zero_point={zp}")
    return lines


def _short(values: Sequence[float] | Sequence[int]) -> str:
    vals = list(values)
    if len(vals) == 1:
        return f"{vals[0]:.6g}"
    return f"[{', '.join(f'{v:.4g}' for v in vals[:3])}{', …' if len(vals) > 3 else ''}] ({len(vals)} channels)"


@dataclass
class OutputPair:
    reference: str
    test: str
    perm: tuple[int, ...] | None = None  # transpose applied to the test output to reach the reference layout
    how: str = "name"  # name | shape | order


def _out_perm(ref_shape: tuple[int, ...], test_shape: tuple[int, ...], test_spec: TensorSpec | None,
              ref_spec: TensorSpec | None) -> tuple[tuple[int, ...] | None, str]:
    """(perm, note) making ``test_shape`` equal ``ref_shape``; (None, "") when equal; raises nothing."""
    if ref_shape == test_shape:
        return None, ""
    if len(ref_shape) != len(test_shape) or sorted(ref_shape[1:]) != sorted(test_shape[1:]):
        return (), ""
    t_layout = test_spec.layout if test_spec is not None else None
    r_layout = ref_spec.layout if ref_spec is not None else None
    if t_layout and r_layout:
        p = layout_perm(t_layout, r_layout)
        if p is not None and tuple(test_shape[i] for i in p) == ref_shape:
            return p, f"transposed {t_layout} → {r_layout}"
    default = {4: (0, 3, 1, 2), 3: (0, 2, 1), 5: (0, 4, 1, 2, 3)}.get(len(ref_shape))
    if default is not None and tuple(test_shape[i] for i in default) == ref_shape:
        how = "channels-last → channels-first"
        return default, f"transposed {how} {default}, inferred from shapes"
    rank = len(ref_shape)
    perms = [(0, *p) for p in itertools.permutations(range(1, rank))
             if tuple(test_shape[i] for i in (0, *p)) == ref_shape]
    if len(perms) == 1:
        return perms[0], f"transposed by {perms[0]}, inferred from shapes"
    return (), ""


def match_outputs(ref: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray],
                  ref_specs: Sequence[TensorSpec] = (), test_specs: Sequence[TensorSpec] = ()
                  ) -> tuple[list[OutputPair], list[str]]:
    """Pair outputs by name, then by shape (a unique match), then by order; a layout-permuted shape is
    transposed back. Converters rename outputs (TFLite's ``Identity``, ``StatefulPartitionedCall:0``) and
    reorder them, so a shape that only one output on each side has is a better witness than position."""
    shapes_r = {k: tuple(np.shape(v)) for k, v in ref.items()}
    shapes_t = {k: tuple(np.shape(v)) for k, v in test.items()}
    if len(ref) != len(test):
        raise InputError(f"reference has {len(ref)} outputs {shapes_r}, test has {len(test)} outputs {shapes_t}",
                         fix="compare models with the same outputs (or export the same heads)")
    rspec = {s.name: s for s in ref_specs}
    tspec = {s.name: s for s in test_specs}
    candidates = [(n, n, "name") for n in ref if n in test]
    rest_r = [n for n in ref if n not in test]
    rest_t = [n for n in test if n not in ref]
    for same in (True, False):  # exact shape first, then a shape equal up to a layout permutation
        for r in list(rest_r):
            fits = [t for t in rest_t if _shape_fits(shapes_r[r], shapes_t[t], same)]
            rivals = [o for o in rest_r if len(fits) == 1 and _shape_fits(shapes_r[o], shapes_t[fits[0]], same)]
            if len(fits) == 1 and rivals == [r]:
                candidates.append((r, fits[0], "shape"))
                rest_r.remove(r)
                rest_t.remove(fits[0])
    candidates += [(r, t, "order") for r, t in zip(rest_r, rest_t)]
    order = {n: i for i, n in enumerate(ref)}
    candidates.sort(key=lambda c: order[c[0]])
    pairs: list[OutputPair] = []
    lines: list[str] = []
    for r, t, how in candidates:
        perm, note = _out_perm(shapes_r[r], shapes_t[t], tspec.get(t), rspec.get(r))
        if perm == ():
            raise InputError(f"output {r!r} {shapes_r[r]} and {t!r} {shapes_t[t]} have incompatible shapes even "
                             f"after layout alignment: reference {shapes_r}, test {shapes_t}",
                             fix="compare models with the same outputs")
        pairs.append(OutputPair(r, t, perm, how))
        if how != "name":
            witness = f"the only output of shape {shapes_r[r]} on both sides" if how == "shape" else \
                "position (names and shapes do not tell them apart)"
            lines.append(f"ref {r!r} ↔ test {t!r}: paired by {how}, {witness}")
        if note:
            lines.append(f"test output {t!r}: {note}, {shapes_t[t]} → {shapes_r[r]}")
    return pairs, lines


def _shape_fits(ref_shape: tuple[int, ...], test_shape: tuple[int, ...], same: bool) -> bool:
    if same:
        return ref_shape == test_shape
    return ref_shape != test_shape and _out_perm(ref_shape, test_shape, None, None)[0] not in ((), None)
