"""The architecture's arrows run one way: commands -> pipeline (Beam stages) -> model -> tfrecords (the
data contract) -> basics (Lab, photos, the network's view, paths, remote I/O, errors). Every import in every
module, at its top or inside a function, is checked; so is the rule that only `commands` reads argv."""
import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ["commands", "pipeline", "model", "tfrecords", "basics"]  # top to bottom; each may import only those below it


def imports_of(path):
    """Top-level packages of this project that a module imports, anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def parses_argv(path):
    """Whether a module reads the command line itself: imports argparse or touches sys.argv."""
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            return "imports argparse"
        if isinstance(node, ast.ImportFrom) and node.module == "argparse":
            return "imports argparse"
        if isinstance(node, ast.Attribute) and node.attr == "argv" and getattr(node.value, "id", None) == "sys":
            return "reads sys.argv"
    return None


def private_imports(path):
    """Names starting with _ that a module imports from another module of the project."""
    found = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in LAYERS:
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def modules(packages=LAYERS):
    for package in packages:
        for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
            for f in sorted(files):
                if f.endswith(".py"):
                    yield package, os.path.relpath(os.path.join(dirpath, f), ROOT)


@pytest.mark.parametrize("package, path", list(modules()))
def test_no_import_runs_up_the_layers(package, path):
    below = set(LAYERS[LAYERS.index(package):])
    wrong = imports_of(os.path.join(ROOT, path)) - below
    assert not wrong, f"{path} imports {sorted(wrong)}, which sit above {package}"


@pytest.mark.parametrize("package, path", list(modules(LAYERS[1:])))
def test_only_commands_read_the_command_line(package, path):
    """Stages take frozen options (pipeline/options.py), models a Recipe: flags are parsed in commands/ alone."""
    why = parses_argv(os.path.join(ROOT, path))
    assert why is None, f"{path} {why}: flags belong in commands/"


@pytest.mark.parametrize("package, path", list(modules()))
def test_no_module_imports_another_ones_private_names(package, path):
    assert not private_imports(os.path.join(ROOT, path))


def unannotated(path):
    """Public functions (and methods) of a module with a parameter or the return left without a type."""
    found = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            params = [a for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                      if a.arg not in ("self", "cls")]
            if node.returns is None or any(a.annotation is None for a in params):
                found.append(f"{node.name} (line {node.lineno})")
    return found


# Every package's public functions say their types: they are read by anyone who calls the product from code.
ANNOTATED = LAYERS


@pytest.mark.parametrize("package, path", list(modules(ANNOTATED)))
def test_public_functions_say_their_types(package, path):
    assert not unannotated(os.path.join(ROOT, path)), f"{path}: {unannotated(os.path.join(ROOT, path))}"


def test_nothing_outside_tests_imports_from_tests():
    for folder in ("bench", *LAYERS):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in (f for f in files if f.endswith(".py")):
                path = os.path.join(dirpath, f)
                tree = ast.parse(open(path).read(), path)
                for node in ast.walk(tree):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                        [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                    assert not any(n.split(".")[0] == "tests" for n in names), f"{path} imports from tests/"


def test_tests_import_nothing_from_bench():
    """The benchmarks' code is no test's fixture: what both need lives in fixtures/ or the packages."""
    for dirpath, _, files in os.walk(os.path.join(ROOT, "tests")):
        for f in (f for f in files if f.endswith(".py")):
            path = os.path.join(dirpath, f)
            text = open(path).read()
            for node in ast.walk(ast.parse(text, path)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(n.split(".")[0] == "bench" for n in names), f"{path} imports from bench/"
            assert not re.search(r"syspath_prepend\(.*\bbench\b", text), f"{path} puts bench/ on sys.path"


def test_the_checks_catch_what_they_look_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\ndef f():\n    from pipeline import sources\n    import model.train\n"
                   "    from basics.lab import _f\n    return sys.argv[1:]\n")
    assert imports_of(str(bad)) == {"pipeline", "model", "basics"}
    assert parses_argv(str(bad)) == "reads sys.argv"
    assert private_imports(str(bad)) == ["basics.lab._f"]
    bad.write_text("def f():\n    import argparse\n")
    assert parses_argv(str(bad)) == "imports argparse"
    bad.write_text("def f(a: int) -> int:\n    return a\ndef g(a, b: int) -> None:\n    pass\ndef _h(a):\n    pass\n")
    assert unannotated(str(bad)) == ["g (line 3)"]


def test_evaluating_photos_and_building_inception_need_no_beam():
    import subprocess
    import sys
    code = ("import sys; import commands.evaluate, commands.train, model.inception, basics.remote; "
            "sys.exit('apache_beam' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=300).returncode == 0
