"""The study converts its builds two at a time before measuring; a failed build is cached as its error."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError
from edgeport.study import builds as study_builds
from edgeport.study.builds import build_artifact, prebuild
from edgeport.study.variants import Build

DATA = Dataset(name="d", inputs={"x": np.zeros((4, 2), np.float32)})
SOURCE = Artifact(path=Path("m.pt2"), format=Format.TORCH_EXPORT, inputs=(), outputs=())


def _fake_build(log: list[tuple[str, float, float]], fail: set[str]):  # noqa: ANN202
    def build(build: Build, source: Artifact, data: Dataset, directory: Path, cache: dict) -> Artifact:  # noqa: ARG001
        start = time.monotonic()
        time.sleep(0.2)
        log.append((build.key, start, time.monotonic()))
        if build.key in fail:
            raise ConversionError(f"{build.key} cannot be converted")
        return Artifact(path=directory / f"{build.key}.out", format=Format(build.format), inputs=(), outputs=())
    return build


def test_conversions_overlap_and_failures_are_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log: list[tuple[str, float, float]] = []
    monkeypatch.setattr(study_builds, "_build", _fake_build(log, fail={"tflite-int8"}))
    wanted = [Build("onnx", "fp32"), Build("tflite", "fp32"), Build("tflite", "int8"), Build("onnx", "fp32"),
              Build("onnx", "int8", pass_name="some-pass"),  # passes run later, in the study's own thread
              Build("torch-export", "fp32")]  # the source itself: nothing to build
    cache: dict = {}
    prebuild(wanted, SOURCE, DATA, tmp_path, cache, workers=2)
    assert sorted(k for k, _, _ in log) == ["onnx-fp32", "tflite-fp32", "tflite-int8"]  # each once
    spans = sorted((s, e) for _, s, e in log)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), spans  # two ran at the same time
    assert isinstance(cache["tflite-int8"], ConversionError)
    with pytest.raises(ConversionError, match="tflite-int8 cannot be converted"):
        build_artifact(Build("tflite", "int8"), SOURCE, DATA, tmp_path, cache)
    assert build_artifact(Build("onnx", "fp32"), SOURCE, DATA, tmp_path, cache) \
        is cache["onnx-fp32"]
    assert len(log) == 3  # served from the cache


def test_an_internal_bug_in_a_build_is_not_swallowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*_args: object) -> Artifact:
        raise KeyError("a bug")

    monkeypatch.setattr(study_builds, "_build", broken)
    with pytest.raises(KeyError, match="a bug"):
        prebuild([Build("onnx", "fp32"), Build("tflite", "fp32")], SOURCE, DATA,
                 tmp_path, {}, workers=2)


def test_one_worker_builds_nothing_ahead(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(study_builds, "_build", lambda b, *_: calls.append(b.key))
    prebuild([Build("onnx", "fp32"), Build("tflite", "fp32")], SOURCE, DATA, tmp_path, {},
             workers=1)
    assert calls == []
