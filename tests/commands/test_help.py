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


TYPO = """
import sys
from commands import cli
try:
    cli.main(["run", "--input", "in", "--output", "out", "--runner", "DataflowRunner", "--region", "europe-west1",
              "--no_use_public_ips", "--overwite"])
except SystemExit as e:
    assert e.code == 2, e.code
heavy = sorted(m for m in ("tensorflow", "apache_beam", "keras", "jax") if m in sys.modules)
sys.exit(f"loaded {heavy}" if heavy else 0)
"""


def test_a_mistyped_flag_is_refused_without_loading_tensorflow_or_beam():
    """Beam's flags (one with a value, one without) pass; the typo is named with its nearest known flag."""
    done = subprocess.run([sys.executable, "-c", TYPO], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "unknown option --overwite; did you mean --overwrite?" in done.stderr


def test_the_shipped_beam_option_table_is_the_installed_beams():
    """The table the typo check reads instead of importing Beam lists exactly the options Beam defines, with
    whether each takes a value; a changed Beam pin must come with a rewritten table (the made_by command)."""
    import json
    from commands import flags
    with open(flags.BEAM_OPTIONS) as f:
        shipped = json.load(f)
    assert shipped == flags.beam_option_table()
    assert {"--runner", "--project", "--temp_location", "--dry_run", "--direct_num_workers"} <= \
        {o for strings, _ in shipped["options"] for o in strings}


def test_one_meaning_per_name_train_takes_its_network_as_architecture(capsys):
    """--model is a model folder in run and evaluate; train names its network --architecture, and a --model given
    to train is refused in one line that says so. Every option of train says what it does."""
    from commands import train
    assert train.parse_args(["--architecture", "beta", "--data", "d", "--output", "o"]).architecture == "beta"
    with pytest.raises(SystemExit) as e:
        train.parse_args(["--model", "beta", "--data", "d", "--output", "o"])
    assert e.value.code == 2
    assert "--model names a model folder (colorize run, evaluate); the network to train is --architecture" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    shown = capsys.readouterr().out
    options = [o for o in ("--architecture", "--data", "--image", "--output", "--epochs", "--batch-size",
                           "--learning-rate", "--seed", "--image-size") if o in shown]
    assert len(options) == 9 and "--model" not in shown and "default 16" in shown and "default 42" in shown


@pytest.mark.parametrize("argv", [["train", "--help"], ["evaluate", "--help"],
                                  ["train", "--model", "beta", "--data", "d", "--output", "o"],
                                  ["train", "--architecture", "beta", "--output", "o"]])
def test_train_and_evaluate_answer_help_and_flag_errors_without_tensorflow(argv):
    """The trainer (and Keras, TensorFlow with it) loads once the flags are good: --help and a wrong flag answer
    from the parser alone."""
    code = f"""
import sys
from commands import cli
try:
    code = cli.main({argv!r})
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("tensorflow", "apache_beam", "keras", "jax") if m in sys.modules)
sys.exit(f"loaded {{heavy}}" if heavy else 0 if code in (0, 2) else f"exit {{code}}")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("argv, said", [
    (["run", "--input", "in", "--ouput", "out"], "unknown option --ouput; did you mean --output?"),
    (["run", "--input", "in", "--output", "out", "--vividnes", "1.3"],
     "unknown option --vividnes; did you mean --vividness?"),
    (["evaluate", "--image", "x", "--report", "r"], "unknown option --image; did you mean --images?"),
    (["train", "--architecture", "beta", "--data", "d", "--output", "o", "--epoch", "3"],
     "unknown option --epoch; did you mean --epochs?"),
    (["runn", "--input", "in"], "unknown command 'runn'; did you mean run?"),
])
def test_a_typo_is_never_another_flag_nor_a_missing_one(argv, said, capsys):
    """A mistyped required flag is named as the typo, not "--output is required"; an abbreviation is not
    silently taken for the flag it begins (--vividnes 1.3 would have run at 1.3 without saying so)."""
    from commands import cli
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert said in err[-1] and err[-1].startswith("colorize")
