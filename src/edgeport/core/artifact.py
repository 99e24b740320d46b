"""``Artifact``: a frozen description of a model file and the lineage that produced it.

An artifact never holds a loaded model; runtimes load it. ``load_artifact`` detects the
format from content and reads the I/O specs with the reader the format's runtime module
declares (``Runtime.io_readers``; each reader imports its backend lazily).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeport._registry import resolve
from edgeport.core.formats import Format, detect_format
from edgeport.core.inputs import InputPlan, apply_plan
from edgeport.core.tensors import TensorSpec

__all__ = ["Artifact", "Step", "load_artifact"]


@dataclass(frozen=True)
class Step:
    """The step that produced an artifact from its parent: a converter or a pass."""

    kind: str  # "convert" | "pass" | "train" | "export"
    name: str  # converter / pass name
    options: Mapping[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Artifact:
    path: Path
    format: Format
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    parent: Artifact | None = None
    step: Step | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def size_bytes(self) -> int:
        """Bytes on disk, including side files (OpenVINO .bin, ONNX external data, dirs)."""
        p = self.path
        if p.is_dir():
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        total = p.stat().st_size
        for side in self.side_files():
            total += side.stat().st_size
        return total

    def side_files(self) -> list[Path]:
        p = self.path
        found: list[Path] = []
        if self.format is Format.OPENVINO and p.with_suffix(".bin").exists():
            found.append(p.with_suffix(".bin"))
        data = p.with_name(p.name + ".data")
        if self.format is Format.ONNX and data.exists():
            found.append(data)
        for extra in self.metadata.get("side_files", ()):
            ep = p.parent / extra
            if ep.exists() and ep not in found:
                found.append(ep)
        return found

    def sha256(self) -> str:
        h = hashlib.sha256()
        files = sorted(f for f in self.path.rglob("*") if f.is_file()) if self.path.is_dir() else [self.path]
        for f in files:
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()

    def lineage(self) -> list[Artifact]:
        """This artifact and its ancestors, oldest first."""
        chain: list[Artifact] = []
        node: Artifact | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    def input(self, name: str) -> TensorSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def derive(self, path: Path, format: Format | None = None, *, step: Step,
               inputs: tuple[TensorSpec, ...] | None = None, outputs: tuple[TensorSpec, ...] | None = None,
               metadata: Mapping[str, Any] | None = None) -> Artifact:
        """A child artifact made from this one by ``step``."""
        return Artifact(path=Path(path), format=format or self.format,
                        inputs=self.inputs if inputs is None else inputs,
                        outputs=self.outputs if outputs is None else outputs,
                        metadata=dict(metadata or {}), parent=self, step=step)

    def with_specs(self, inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...]) -> Artifact:
        return replace(self, inputs=inputs, outputs=outputs)

    def with_inputs(self, plan: InputPlan | None) -> Artifact:
        """The same file with its input specs made concrete by ``plan`` (checked: ``ConfigError`` naming the
        input and its declared shape), and the plan recorded in ``metadata["input_plan"]`` so runtimes,
        converters and child processes see it. An empty plan returns the artifact unchanged."""
        if plan is None or plan.empty:
            return self
        inputs = apply_plan(self.inputs, plan)
        merged = plan.named(self.inputs).with_defaults(InputPlan.of(self.metadata))
        return replace(self, inputs=inputs,
                       metadata={**self.metadata, "input_plan": merged.to_dict()})

    @property
    def input_plan(self) -> InputPlan:
        """The plan recorded by ``with_inputs`` (the empty plan when none was)."""
        return InputPlan.of(self.metadata)

    def copy_to(self, dest: Path) -> Path:
        """Copy the artifact's files (with side files) to ``dest``; returns the new main path."""
        dest = Path(dest)
        if self.path.is_dir():
            shutil.copytree(self.path, dest, dirs_exist_ok=True)
            return dest
        shutil.copy2(self.path, dest)
        for side in self.side_files():
            if side.suffix == ".bin" and self.format is Format.OPENVINO:
                shutil.copy2(side, dest.with_suffix(".bin"))
            elif side.name == self.path.name + ".data":
                shutil.copy2(side, dest.with_name(dest.name + ".data"))
            else:
                shutil.copy2(side, dest.parent / side.name)
        return dest

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format.value,
            "inputs": [_spec_dict(s) for s in self.inputs],
            "outputs": [_spec_dict(s) for s in self.outputs],
            "metadata": dict(self.metadata),
            "step": None if self.step is None else {"kind": self.step.kind, "name": self.step.name,
                                                    "options": dict(self.step.options)},
            "parent": None if self.parent is None else str(self.parent.path),
        }


def _spec_dict(s: TensorSpec) -> dict[str, Any]:
    return {"name": s.name, "dtype": s.dtype, "shape": list(s.shape), "layout": s.layout}


def _io_reader(fmt: Format) -> str | None:
    """The ``module:function`` that reads ``fmt``'s I/O, as its runtime module declares it.

    Which function reads a format is runtime knowledge (``Runtime.io_readers``), and runtimes sit
    above core. So the lookup is late-bound through the registry mechanism (layer 0), by name, at
    call time: the runtime registry is consulted only when a model is loaded, the reader module is
    imported only for its own format, and core never imports a runtime module statically.
    """
    reader: str | None = resolve("edgeport.runtimes.base:io_reader_for")(fmt)
    return reader


def load_artifact(path: str | Path, *, format: Format | None = None) -> Artifact:
    """Describe the model at ``path``: detect its format and read its input/output specs."""
    p = Path(path)
    fmt = format or detect_format(p)
    target = _io_reader(fmt)
    if target is None:
        return Artifact(path=p, format=fmt, inputs=(), outputs=(), metadata={"io_unknown": True})
    inputs, outputs, meta = resolve(target)(p)
    return Artifact(path=p, format=fmt, inputs=tuple(inputs), outputs=tuple(outputs), metadata=meta)
