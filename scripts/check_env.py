"""Fail loudly when the environment holds another torch build or CUDA packages."""

from __future__ import annotations

import importlib.metadata
import sys

EXPECTED_TORCH = "2.13.0"


def main() -> int:
    problems = []
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("nvidia-") or name in ("triton", "pytorch-triton"):
            problems.append(f"CUDA package {name} {dist.version} is installed")
    try:
        torch_version = importlib.metadata.version("torch")
        if not torch_version.startswith(EXPECTED_TORCH) or "+cu" in torch_version:
            problems.append(f"torch {torch_version} is installed, expected {EXPECTED_TORCH} (CPU)")
    except importlib.metadata.PackageNotFoundError:
        problems.append("torch is not installed")
    for problem in problems:
        print(f"check-env: {problem} — reinstall with 'make clean env' (constraints.txt pins torch)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
