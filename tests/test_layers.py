"""The architecture's arrows run one way: commands -> pipeline (Beam stages) -> model -> tfrecords (the
data contract). Every import in every module, at its top or inside a function, is checked."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ["commands", "pipeline", "model", "tfrecords"]  # top to bottom; each may import only those below it


def imports_of(path):
    """Top-level packages of this project that a module imports, anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def modules():
    for package in LAYERS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
            for f in sorted(files):
                if f.endswith(".py"):
                    yield package, os.path.relpath(os.path.join(dirpath, f), ROOT)


@pytest.mark.parametrize("package, path", list(modules()))
def test_no_import_runs_up_the_layers(package, path):
    below = set(LAYERS[LAYERS.index(package):])
    wrong = imports_of(os.path.join(ROOT, path)) - below
    assert not wrong, f"{path} imports {sorted(wrong)}, which sit above {package}"


def test_the_check_catches_a_wrong_way_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from pipeline import sources\n    import model.train\n")
    assert imports_of(str(bad)) == {"pipeline", "model"}


def test_evaluating_photos_and_building_inception_need_no_beam():
    import subprocess
    import sys
    code = ("import sys; import commands.evaluate, commands.train, model.inception; "
            "sys.exit('apache_beam' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=300).returncode == 0
