"""``import edgeport`` and ``edgeport --help`` stay light: no ML framework is imported."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "onnx", "onnxruntime", "tensorflow", "openvino", "tvm", "executorch", "coremltools", "jax",
         "ai_edge_litert", "nncf", "keras", "ray")

_PROBE = """
import json, sys
{body}
heavy = {heavy!r}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(heavy))))
"""


def _heavy_after(body: str) -> list[str]:
    code = _PROBE.format(body=body, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_edgeport_imports_no_ml_framework():
    assert _heavy_after("import edgeport") == []


def test_cli_help_imports_no_ml_framework():
    body = (
        "from edgeport.cli.main import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'bench' in r.output and 'doctor' in r.output\n"
    )
    assert _heavy_after(body) == []


def test_every_command_help_imports_no_ml_framework():
    body = (
        "from edgeport.cli.main import app\n"
        "from typer.testing import CliRunner\n"
        "import typer\n"
        "cmd = typer.main.get_command(app)\n"
        "for name in cmd.list_commands(None):\n"
        "    r = CliRunner().invoke(app, [name, '--help'])\n"
        "    assert r.exit_code == 0, (name, r.output)\n"
    )
    assert _heavy_after(body) == []


def test_the_probe_would_notice_a_heavy_import():
    """Guard against a probe that can never fail."""
    assert _heavy_after("import edgeport\nimport onnx") == ["onnx"]


def test_import_edgeport_is_lazy():
    """The public names resolve on first use; importing the package loads not even numpy.

    If this fails, a public name was added as an eager import in ``edgeport/__init__.py``:
    add it to ``_LAZY`` there instead (``edgeport --help`` start-up time depends on it).
    """
    code = "import sys, edgeport; print('numpy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr
