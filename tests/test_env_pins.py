"""The environment holds exactly torch 2.13.0 (CPU) and no CUDA / nvidia-* packages."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_check_env_script_passes():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_env.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_torch_is_the_pinned_cpu_build():
    version = importlib.metadata.version("torch")
    assert version.split("+")[0] == "2.13.0"
    assert "+cu" not in version


def test_no_nvidia_packages_installed():
    names = sorted((d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions())
    assert [n for n in names if n.startswith("nvidia-")] == []


def test_constraints_pin_torch():
    text = (ROOT / "constraints.txt").read_text()
    assert "torch==2.13.0" in text.replace(" ", "")
