"""The edgeport agent: a small authenticated HTTP server on a device that loads, runs and times models there.

``edgeport agent serve`` on the device; the ``remote`` runtime (``--device agent://HOST:PORT``) on the host.
Its import closure is NumPy, the standard library, the runtime modules and the benchmark harness: no torch,
TensorFlow, onnx tooling or analysis code, so ``pip install "edgeport[agent]"`` plus the device's runtimes
is all a board needs.
"""
