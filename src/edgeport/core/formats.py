"""Model formats, detected from file content (magic bytes, container layout), not the extension."""

from __future__ import annotations

import enum
import zipfile
from pathlib import Path

from edgeport.errors import ModelFileError

__all__ = ["Format", "detect_format"]


class Format(str, enum.Enum):
    ONNX = "onnx"
    TFLITE = "tflite"
    EXECUTORCH = "executorch"  # .pte flatbuffer
    TORCH_EXPORT = "torch-export"  # torch.export .pt2 archive
    TORCHSCRIPT = "torchscript"
    OPENVINO = "openvino"  # .xml + .bin
    COREML = "coreml"  # .mlpackage directory (or .mlmodel)
    SAVED_MODEL = "saved-model"  # TensorFlow SavedModel directory
    KERAS = "keras"  # .keras archive
    TVM = "tvm"  # compiled module directory (module .so + specs)
    TENSORRT = "tensorrt"  # serialized engine
    MCU_C = "mcu-c"  # generated C99 project directory for Cortex-M (edgeport-mcu.json inside)

    @property
    def suffix(self) -> str:
        return _SUFFIX[self]

    @classmethod
    def parse(cls, text: str) -> Format:
        key = text.strip().lower().replace("_", "-")
        aliases = {"pt2": cls.TORCH_EXPORT, "torch": cls.TORCH_EXPORT, "pytorch": cls.TORCH_EXPORT,
                   "pte": cls.EXECUTORCH, "litert": cls.TFLITE, "ov": cls.OPENVINO,
                   "mlpackage": cls.COREML, "savedmodel": cls.SAVED_MODEL, "trt": cls.TENSORRT,
                   "engine": cls.TENSORRT, "openvino-ir": cls.OPENVINO,
                   "mcu": cls.MCU_C, "c": cls.MCU_C}
        if key in aliases:
            return aliases[key]
        for f in cls:
            if f.value == key:
                return f
        from edgeport.errors import UnknownNameError

        raise UnknownNameError(
            f"unknown format {text!r}", fix="use one of: " + ", ".join(f.value for f in cls)
        )


_SUFFIX = {
    Format.ONNX: ".onnx",
    Format.TFLITE: ".tflite",
    Format.EXECUTORCH: ".pte",
    Format.TORCH_EXPORT: ".pt2",
    Format.TORCHSCRIPT: ".pt",
    Format.OPENVINO: ".xml",
    Format.COREML: ".mlpackage",
    Format.SAVED_MODEL: "",
    Format.KERAS: ".keras",
    Format.TVM: ".tvm",
    Format.TENSORRT: ".engine",
    Format.MCU_C: "",
}


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path}: truncated or corrupt archive ({exc})", fix="re-export the model") from exc


def _looks_like_onnx(head: bytes) -> bool:
    # ModelProto starts with a varint field (ir_version = field 1, tag 0x08) or, for some
    # writers, another ModelProto field tag; require the first tag to be a valid small field.
    return len(head) > 2 and head[0] in (0x08, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42, 0x52, 0x72)


def detect_format(path: str | Path) -> Format:
    """Detect the model format of ``path`` from its content.

    Raises ``ModelFileError`` (one line, with the fix) for a missing file or content that
    is no model format edgeport knows.
    """
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"{p}: no such file or directory", fix="check the path")
    if p.is_dir():
        if (p / "saved_model.pb").exists() or (p / "saved_model.pbtxt").exists():
            return Format.SAVED_MODEL
        if (p / "Manifest.json").exists() and p.suffix == ".mlpackage":
            return Format.COREML
        if (p / "manifest.json").exists() and (p / "module.so").exists():
            return Format.TVM
        if (p / "edgeport-mcu.json").exists():
            return Format.MCU_C
        raise ModelFileError(f"{p}: directory is not a SavedModel, .mlpackage, compiled TVM module or MCU C "
                             "project",
                             fix="pass a model file or a model directory")
    with p.open("rb") as fh:
        head = fh.read(64)
    if not head:
        raise ModelFileError(f"{p}: file is empty", fix="re-export the model")
    if head[4:8] == b"TFL3":
        return Format.TFLITE
    if head[4:6] == b"ET" and head[6:8].isdigit():
        return Format.EXECUTORCH
    if head.startswith(b"PK\x03\x04"):
        names = _zip_names(p)
        if any(n.endswith("serialized_exported_program.json") or n.endswith("models/model.json")
               or "/models/" in n and n.endswith(".json") for n in names):
            return Format.TORCH_EXPORT
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            return Format.TORCHSCRIPT
        if any(n.endswith("archive_format") for n in names):
            return Format.TORCH_EXPORT
        if "config.json" in names and any(n.endswith(".weights.h5") for n in names):
            return Format.KERAS
        raise ModelFileError(f"{p}: zip archive is not a PyTorch export, TorchScript or Keras model",
                             fix="save PyTorch models with torch.export.save(...) to a .pt2 file")
    stripped = head.lstrip()
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<net"):
        text = p.read_text(errors="replace")[:4096]
        if "<net" in text:
            if not p.with_suffix(".bin").exists():
                raise ModelFileError(f"{p}: OpenVINO IR weights file {p.with_suffix('.bin').name} is missing",
                                     fix="keep the .bin file beside the .xml")
            return Format.OPENVINO
        raise ModelFileError(f"{p}: XML file is not an OpenVINO IR", fix="pass an OpenVINO .xml with its .bin")
    if p.suffix == ".mlmodel":
        return Format.COREML
    if p.suffix in (".engine", ".plan", ".trt"):
        return Format.TENSORRT
    if _looks_like_onnx(head):
        return Format.ONNX
    raise ModelFileError(f"{p}: not a model file edgeport recognises (no ONNX, TFLite, ExecuTorch, "
                         "PyTorch, OpenVINO, Core ML or TensorFlow signature)",
                         fix="pass a model exported to one of those formats")
