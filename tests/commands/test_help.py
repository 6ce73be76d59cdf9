"""`colorize COMMAND --help` answers from the command's own parser: neither TensorFlow nor Beam is loaded for it
(each takes seconds to import), and the help names every option with its default."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = """
import sys
from commands import cli
try:
    cli.main([{command!r}, "--help"])
except SystemExit as e:
    assert e.code == 0, e.code
heavy = sorted(m for m in ("tensorflow", "apache_beam", "keras", "jax") if m in sys.modules)
sys.exit(f"loaded {{heavy}}" if heavy else 0)
"""


@pytest.mark.parametrize("command", ["run", "preprocess"])
def test_help_loads_neither_tensorflow_nor_beam(command):
    done = subprocess.run([sys.executable, "-c", CODE.format(command=command)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--max-pixels" in done.stdout and "default 200,000,000" in done.stdout.replace("\n", " ").replace("  ", " ")
