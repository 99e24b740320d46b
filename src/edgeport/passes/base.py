"""``Pass``: one transformation within a format, with typed options and pre/post checks.

``Pass.apply`` checks the artifact's format, writes the result under a temporary name, checks
it (it loads and runs), renames it into place, measures it against its parent on the dataset's
test split (size, accuracy, agreement) and returns a child artifact whose lineage step
``Step("pass", name, options, seconds, metrics)`` carries those numbers.

A pass declares the points it offers to sweeps in ``sweeps`` (``Sweep``: the precision its result
has with those options). The study builds every default point of every installed pass, and
``quantize`` finds the pass that makes a precision within a format there, so neither lists pass
names: a new pass module with a ``sweeps`` joins both.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from edgeport._optional import is_available, require
from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.precision import Precision
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, UnsupportedError
from edgeport.verify.tolerance import Tolerance

__all__ = ["Pass", "PassOptions", "Sweep", "coerce_options", "sweep"]

log = logging.getLogger("edgeport.passes")


@dataclass(frozen=True)
class PassOptions:
    """Options every pass understands; passes subclass with their own knobs."""


@dataclass(frozen=True)
class Sweep:
    """One point a pass offers: with ``options`` its result has ``precision``.

    ``default`` points are built by every study; the others (slow or niche, e.g. int16 activations)
    only when a study's ``precisions`` names them, and ``quantize`` offers all of them.
    """

    precision: str
    options: tuple[tuple[str, Any], ...] = ()  # (option name, value), sorted by name
    default: bool = True


def sweep(precision: str, *, default: bool = True, **options: Any) -> Sweep:
    """``Sweep(precision, sorted options, default)`` from keyword options (the precision checked by name)."""
    return Sweep(Precision.parse(precision).value, tuple(sorted(options.items())), default)


def coerce_options(cls: type[Any], options: Any, owner: str) -> Any:
    """``options`` as an instance of dataclass ``cls`` (from ``None``, a dict or the instance)."""
    if options is None:
        return cls()
    if isinstance(options, cls):
        return options
    data = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{owner} has no option(s) {sorted(unknown)}",
                          fix=f"its options are: {', '.join(sorted(names)) or 'none'}")
    return cls(**data)


class Pass(ABC):
    name: ClassVar[str] = ""
    formats: ClassVar[frozenset[Format]] = frozenset()
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str] = ""
    Options: ClassVar[type[PassOptions]] = PassOptions
    needs_data: ClassVar[bool] = False  # calibration data required
    precision: ClassVar[str] = "fp32"  # precision of the result (picks the verification tolerance)
    sweeps: ClassVar[tuple[Sweep, ...]] = ()  # the points it offers to the study and to quantize
    # True: a study uses this pass's point only where no converter makes the same build (it quantises a
    # finished file, e.g. a shipped .tflite; a converter that quantises from the source is preferred)
    yields_to_converter: ClassVar[bool] = False
    description: ClassVar[str] = ""

    # ---- availability -------------------------------------------------------------------------
    @classmethod
    def available(cls) -> bool:
        return all(is_available(m) for m in cls.requires)

    @classmethod
    def require(cls) -> None:
        for module in cls.requires:
            require(module, cls.extra, f"pass {cls.name!r}")

    @classmethod
    def applies_to(cls, fmt: Format) -> bool:
        return fmt in cls.formats

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"name": cls.name, "formats": sorted(f.value for f in cls.formats), "extra": cls.extra,
                "needs_data": cls.needs_data, "available": cls.available(), "description": cls.description,
                "options": [f.name for f in dataclasses.fields(cls.Options)],
                "sweeps": [{"precision": s.precision, "options": dict(s.options), "default": s.default}
                           for s in cls.sweeps]}

    @classmethod
    def sweep_options(cls, point: Sweep) -> PassOptions:
        """``point``'s options as this pass's typed options (a ConfigError names a wrong field)."""
        return coerce_options(cls.Options, dict(point.options), f"pass {cls.name!r} sweep {point.precision}")

    def tolerance(self, options: PassOptions) -> Tolerance:
        return Tolerance.for_precision(self.precision_of(options))

    def precision_of(self, options: PassOptions) -> str:
        return self.precision

    # ---- checks -------------------------------------------------------------------------------
    def check_format(self, artifact: Artifact) -> None:
        if artifact.format not in self.formats:
            accepted = ", ".join(sorted(f.value for f in self.formats))
            raise UnsupportedError(f"pass {self.name!r} does not apply to {artifact.format.value} models "
                                   f"({artifact.path.name})",
                                   fix=f"it applies to: {accepted}; convert the model first (edgeport convert)")

    def pre_check(self, artifact: Artifact, options: PassOptions, data: Dataset | None) -> list[str]:
        """Check the input before transforming; returns warnings (raise for errors)."""
        return []

    def post_check(self, produced: Path, artifact: Artifact, options: PassOptions) -> list[str]:
        """Check the written result loads (and runs) before it replaces anything; returns warnings."""
        return []

    # ---- the transformation -------------------------------------------------------------------
    @abstractmethod
    def _apply(self, artifact: Artifact, out: Path, options: Any, data: Dataset | None) -> dict[str, Any]:
        """Write the transformed model to ``out``; return metadata for the child artifact."""

    def apply(self, artifact: Artifact | str | Path, out: str | Path | None = None,
              options: PassOptions | dict[str, Any] | None = None, data: Dataset | None = None, *,
              measure: bool = True, max_samples: int | None = None) -> Artifact:
        """Transform ``artifact`` into ``out``; the child carries lineage and measured numbers."""
        source = artifact if isinstance(artifact, Artifact) else load_artifact(artifact)
        self.check_format(source)
        opts = coerce_options(self.Options, options, f"pass {self.name!r}")
        self.require()
        if self.needs_data and data is None:
            raise ConfigError(f"pass {self.name!r} needs calibration data", fix="pass a dataset (--data D)")
        if data is not None and source.inputs:
            data.bind(source.inputs)
        warnings = list(self.pre_check(source, opts, data))
        out_path = Path(out) if out is not None else source.path.with_name(
            f"{source.path.stem}.{self.name}{source.path.suffix}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="edgeport-pass-", dir=out_path.parent) as work:
            tmp = Path(work) / out_path.name
            meta = dict(self._apply(source, tmp, opts, data) or {})
            warnings += meta.pop("warnings", [])
            warnings += self.post_check(tmp, source, opts)
            for side in Path(work).iterdir():  # side files written beside the output (OpenVINO .bin, .data)
                if side != tmp and side.name.startswith(tmp.stem + "."):
                    os.replace(side, out_path.parent / side.name)
            os.replace(tmp, out_path)
        seconds = time.perf_counter() - start
        for w in warnings:
            log.warning("%s: %s", self.name, w)
        child = load_artifact(out_path, format=source.format)
        metrics: dict[str, Any] = {"size_bytes": child.size_bytes(), "parent_size_bytes": source.size_bytes()}
        if measure and data is not None:
            metrics.update(measure_against(source, child, data, self.tolerance(opts), max_samples))
        meta.update({"precision": self.precision_of(opts), "warnings": warnings})
        step = Step("pass", self.name, dataclasses.asdict(opts), seconds, metrics)
        return source.derive(out_path, step=step, inputs=_keep_layout(child.inputs, source.inputs),
                             outputs=child.outputs, metadata={**dict(child.metadata), **meta})


def _keep_layout(new: tuple[Any, ...], old: tuple[Any, ...]) -> tuple[Any, ...]:
    layouts = {s.name: s.layout for s in old}
    return tuple(dataclasses.replace(s, layout=s.layout or layouts.get(s.name)) for s in new)


def measure_against(parent: Artifact, child: Artifact, data: Dataset, tolerance: Tolerance,
                    max_samples: int | None = None) -> dict[str, Any]:
    """Verify ``child`` against ``parent`` on the test split: accuracy, drop, agreement, pass/fail."""
    from edgeport.verify.compare import verify

    result = verify(parent, child, data, tolerance=tolerance, split="test", max_samples=max_samples)
    first = result.outputs[0] if result.outputs else None
    drop = None if result.reference_accuracy is None or result.test_accuracy is None \
        else result.reference_accuracy - result.test_accuracy
    return {"split": "test", "samples": result.samples, "accuracy": result.test_accuracy,
            "parent_accuracy": result.reference_accuracy, "accuracy_drop": drop,
            "top1_agreement": None if first is None else first.top1_agreement,
            "cosine": None if first is None else first.cosine,
            "verified": result.passed, "failures": result.failures()}

