"""GPU paths (ONNX Runtime CUDA / TensorRT providers): run where an NVIDIA GPU and onnxruntime-gpu exist,
skip cleanly elsewhere (CI has no GPU); the CPU-only behaviour is asserted unconditionally."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.errors import MissingDependencyError
from edgeport.runtimes.onnxruntime import GPU_PROVIDERS, OnnxRuntime, OnnxRuntimeOptions


def test_missing_gpu_provider_names_the_extra(digits_onnx) -> None:
    if OnnxRuntime.gpu_available():
        pytest.skip("this machine has a GPU provider")
    rt = OnnxRuntime(digits_onnx, OnnxRuntimeOptions(providers=("CUDAExecutionProvider",)))
    with pytest.raises(MissingDependencyError, match=r'edgeport\[gpu\]'):
        rt.open()


@pytest.mark.gpu
@pytest.mark.parametrize("provider", GPU_PROVIDERS)
def test_gpu_provider_matches_cpu(digits_onnx, digits_data, provider: str) -> None:
    import onnxruntime as ort

    if provider not in ort.get_available_providers():
        pytest.skip(f"{provider} is not available here (needs an NVIDIA GPU and edgeport[gpu])")
    feeds = digits_data.split("test").feeds(digits_onnx.inputs, batch_size=32)
    with OnnxRuntime(digits_onnx) as cpu:
        want = cpu.run(feeds)
    with OnnxRuntime(digits_onnx, OnnxRuntimeOptions(providers=(provider, "CPUExecutionProvider"))) as gpu:
        assert gpu.describe()["providers"][0] == provider
        got = gpu.run(feeds)
    np.testing.assert_allclose(got["output"], want["output"], atol=1e-3, rtol=1e-3)
