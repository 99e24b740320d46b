"""Helpers shared by the converters that write ``.tflite`` files (not a converter: no registration)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, DatasetError

__all__ = ["calibration_arrays", "check_calibration", "finish_tflite", "unsupported_op_error"]


def check_calibration(converter: str, precision: str, needs_data: Sequence[str], calibration: Dataset | None,
                      specs: Sequence[TensorSpec]) -> None:
    """Fail before converting when calibration data is needed and missing, or does not fit the inputs."""
    if precision not in needs_data:
        return
    if calibration is None:
        raise ConfigError(f"{converter} {precision} needs calibration data", fix="pass a dataset (--data D)")
    if not specs:
        return
    try:
        calibration.bind(specs)
    except DatasetError as exc:
        raise DatasetError(f"calibration data for {converter}: {exc.cause}", fix=exc.fix) from None


def calibration_arrays(calibration: Dataset, specs: Sequence[TensorSpec], limit: int) -> dict[str, np.ndarray]:
    """Up to ``limit`` calibration samples per model input, keyed by input name (source layout)."""
    mapping = calibration.bind(specs)
    n = min(limit, calibration.count)
    return {spec.name: np.asarray(calibration.inputs[mapping[spec.name]][:n]).astype(spec.dtype, copy=False)
            for spec in specs}


# Phrases converters use when an operator cannot be lowered, with the op name captured.
_OP_PATTERNS = (
    r"[Ll]owering not found:?\s*([\w.:]+)",
    r"[Nn]o lowering (?:found|registered) for\s*([\w.:]+)",
    r"(aten\.[\w.]+)(?:\.default)? (?:is )?not (?:supported|implemented|lowerable)",
    r"[Uu]nsupported (?:op|operator|operation)[^:]*:\s*'?([\w.:]+)",
    r"'([\w.]+)' op is neither a custom op nor a flex op",
    r"[Oo]p[_ ]?[Tt]ype:\s*([A-Za-z][\w]*)",
    r"(?:torch\.ops\.)?(aten\.[a-z_0-9]+)",
)


def unsupported_op_error(converter: str, exc: BaseException, stage: str = "convert") -> ConversionError:
    """A ``ConversionError`` naming the operator the converter could not lower (when it says which)."""
    text = " ".join(str(exc).split())
    op = None
    for pattern in _OP_PATTERNS:
        m = re.search(pattern, text)
        if m:
            op = m.group(1).rstrip(".:")
            break
    first = text[:300] if text else type(exc).__name__
    if op:
        first = re.split(r" While executing| Original traceback", first)[0][:160]
        return ConversionError(f"cannot lower operator {op} ({type(exc).__name__}: {first})", converter=converter,
                               stage=stage, fix="another path may support it (edgeport tries the next one), or "
                               "replace the op in the model")
    return ConversionError(f"{type(exc).__name__}: {first}", converter=converter, stage=stage,
                           fix="try another path (--via) or precision")


def finish_tflite(source: Artifact, out: Path, *, input_layouts: Sequence[str | None], step_name: str,
                  metadata: dict[str, Any], output_layouts: Sequence[str | None] = (),
                  source_names: bool = False) -> Artifact:
    """Embed the I/O layouts (in I/O order) into the written model, read its specs back, describe it.

    ``source_names``: rename the signature's inputs/outputs (in order) to the source model's names.
    """
    from edgeport.core.artifact import Step
    from edgeport.graph.tflite_reader import embed_io_metadata, op_inventory, read_graph, read_io

    ins, outs, _ = read_io(out)
    rename_in: dict[str, str] = {}
    rename_out: dict[str, str] = {}
    if source_names and len(ins) == len(source.inputs) and len(outs) == len(source.outputs):
        wanted_in = [s.name for s in source.inputs]
        wanted_out = [s.name for s in source.outputs]
        if len(set(wanted_in)) == len(wanted_in) and len(set(wanted_out)) == len(wanted_out):
            rename_in = {s.name: n for s, n in zip(ins, wanted_in) if s.name != n}
            rename_out = {s.name: n for s, n in zip(outs, wanted_out) if s.name != n}
    layouts = {rename_in.get(s.name, s.name): lay for s, lay in zip(ins, input_layouts) if lay}
    layouts.update({rename_out.get(s.name, s.name): lay for s, lay in zip(outs, output_layouts)
                    if lay and rename_out.get(s.name, s.name) not in layouts})
    io_meta: dict[str, Any] = {"layouts": layouts, "source": source.format.value}
    if "layout_map" in metadata:
        renamed = {**rename_in, **rename_out}
        metadata = dict(metadata, layout_map={renamed.get(k, k): v for k, v in metadata["layout_map"].items()})
        io_meta["layout_map"] = metadata["layout_map"]
    embed_io_metadata(out, io_meta, rename_inputs=rename_in, rename_outputs=rename_out)
    result = load_artifact(out, format=Format.TFLITE)
    inventory = op_inventory(read_graph(out))
    meta = dict(metadata)
    meta["ops"] = inventory.to_dict()
    meta["signature"] = result.metadata.get("signature")
    if inventory.notes:
        meta["notes"] = [*meta.get("notes", []), *inventory.notes]
    return source.derive(out, Format.TFLITE, step=source.step or Step("convert", step_name),
                         inputs=result.inputs, outputs=result.outputs, metadata=meta)
