"""JAX → TFLite.

A JAX model has no file format of its own that LiteRT tools read, so edgeport's JAX model
artifact is a **TensorFlow SavedModel made with ``jax2tf``** (native serialisation: the
function's StableHLO inside ``XlaCallModule``, with a polymorphic batch dimension).
``save_jax_model`` writes it; from there the registered ``saved-model-to-tflite`` edge (and
``saved-model-to-onnx``) apply, and verification runs the SavedModel — i.e. the JAX function's
own computation — as the reference.

This module registers no converter: there is no JAX ``Format``; ``convert_jax`` is the one-call
path (save, then ``edgeport.convert.api.convert`` to TFLite, verified).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, Step, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.data.datasets import Dataset
from edgeport.errors import ConfigError, ConversionError, raised_in

__all__ = ["convert_jax", "save_jax_model"]

_BACKEND = raised_in("jax", "jaxlib", "tensorflow")


def save_jax_model(fn: Callable[..., Any], inputs: Sequence[TensorSpec], out_dir: str | Path, *,
                   dynamic_batch: bool = True) -> Artifact:
    """Save the JAX function ``fn`` (closing over its parameters) as a SavedModel via ``jax2tf``.

    ``inputs`` name and shape the positional arguments (batch first). With ``dynamic_batch`` the
    batch dimension is polymorphic. The SavedModel's ``serving_default`` signature takes the
    inputs by name and returns ``output_0``.
    """
    from edgeport._optional import require

    require("jax", "tflite", "saving a JAX model")
    tf = require("tensorflow", "tflite", "saving a JAX model (jax2tf)")
    from jax.experimental import jax2tf

    if not inputs:
        raise ConfigError("save_jax_model needs the input specs", fix="pass inputs=[TensorSpec(...)]")
    out = Path(out_dir)
    poly = []
    sig = []
    for spec in inputs:
        dims = list(spec.shape)
        if any(not isinstance(d, int) for d in dims[1:]):
            raise ConfigError(f"input {spec.name!r} {spec.shape_str()}: only the batch dim may be dynamic",
                              fix="give static sizes for the other dims")
        poly.append("(b, " + ", ".join(str(d) for d in dims[1:]) + ")" if dynamic_batch and dims else None)
        batch = None if dynamic_batch else (dims[0] if isinstance(dims[0], int) else 1)
        sig.append(tf.TensorSpec([batch, *dims[1:]], getattr(tf, spec.dtype), name=spec.name))
    converted = jax2tf.convert(fn, polymorphic_shapes=poly if dynamic_batch else None)

    @tf.function(input_signature=sig, autograph=False)
    def serving(*args):  # type: ignore[no-untyped-def]
        return {"output_0": converted(*args)}

    module = tf.Module()
    module.serving = serving
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".tmp-", dir=out.parent if out.parent.exists() else None))
    try:
        tf.saved_model.save(module, str(tmp), signatures={"serving_default": serving.get_concrete_function()})
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except Exception as exc:  # jax2tf/TF raise many types for unsupported functions
        if not _BACKEND(exc):
            raise  # not the backend's failure: a bug keeps its traceback
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConversionError(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}", converter="jax2tf",
                              stage="save", fix="check the function traces with jax.jit") from exc
    art = load_artifact(out, format=Format.SAVED_MODEL)
    meta = dict(art.metadata, source_framework="jax", representation="jax2tf SavedModel")
    return Artifact(path=out, format=Format.SAVED_MODEL, inputs=art.inputs, outputs=art.outputs, metadata=meta,
                    step=Step("export", "jax2tf", {"dynamic_batch": dynamic_batch}))


def convert_jax(fn: Callable[..., Any], inputs: Sequence[TensorSpec], out: str | Path, *,
                data: Dataset | None = None, options: Any = None, keep_saved_model: bool = True) -> Any:
    """JAX function → SavedModel (``<out>.saved_model``) → verified TFLite: a ``ConversionResult``."""
    from edgeport.convert.api import convert

    out = Path(out)
    saved = save_jax_model(fn, inputs, out.with_name(out.stem + ".saved_model"))
    result = convert(saved, Format.TFLITE, out=out, data=data, options=options)
    if not keep_saved_model:
        shutil.rmtree(saved.path, ignore_errors=True)
    return result
