"""What every command's flags share: argparse types that refuse a bad number in one line, saying which
bound it misses; the check that refuses an unknown flag with the nearest known name; the Beam stages' shared
help texts and their dry-run summary. Nothing here imports Beam until a Beam stage's flags are checked."""
import argparse
import difflib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterator

from basics.errors import UserError


def _number(text, kind, ok, bound):
    """argparse type helper: `text` as `kind`, or a one-line error saying which bound it misses."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{value} {bound}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _number(text, int, lambda v: v >= 1, "is not at least 1")


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    return _number(text, float, lambda v: v > 0, "is not above 0")


def non_negative_float(text: str) -> float:
    """argparse type: a number of at least 0."""
    return _number(text, float, lambda v: v >= 0, "is below 0")


SHARE_HELP = ("one copy of the model for all worker processes of a machine, served to the others by the first "
              "(a GPU machine or a Dataflow GPU worker then loads and compiles it once, not once a process)")
VERBOSE_HELP = "show Beam's and TensorFlow's logs instead of a progress bar"


BEAM_OPTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "beam_options.json")


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def beam_option_table() -> dict:
    """Every pipeline option the installed Beam defines (runner, Dataflow, worker, SDK...), as its flags and
    whether each takes a value: what `beam_options.json` ships. Imports Beam (most of a second)."""
    import apache_beam
    from apache_beam.options.pipeline_options import PipelineOptions
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for cls in dict.fromkeys(_subclasses(PipelineOptions)):
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # an option two option classes both define: the first one's stands
            continue
    return {"beam": apache_beam.__version__,
            "made_by": "python -c 'from commands import flags; flags.write_beam_option_table()'",
            "options": sorted([sorted(a.option_strings), a.nargs] for a in parser._actions)}


def write_beam_option_table() -> None:
    """Rewrites `beam_options.json` from the installed Beam (after Beam's pin in setup.py moves)."""
    table = beam_option_table()
    rows = ",\n".join("  " + json.dumps(row) for row in table.pop("options"))
    with open(BEAM_OPTIONS, "w") as f:
        f.write(json.dumps(table)[:-1] + ', "options": [\n' + rows + "\n]}\n")


def _beam_option_parser() -> argparse.ArgumentParser:
    """An argparse parser that knows every Beam pipeline option. From the shipped table when it was made from
    the installed Beam: a mistyped flag is then refused in a few milliseconds instead of after importing Beam
    (0.7 s of the 0.9 s it took on a 2-core machine); from Beam itself when the versions differ."""
    try:
        installed = importlib.metadata.version("apache-beam")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    with open(BEAM_OPTIONS) as f:
        table = json.load(f)
    if table["beam"] != installed:
        table = beam_option_table()
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for strings, nargs in table["options"]:
        # Only whether a flag takes the next word matters for telling an unknown one from a value.
        if nargs == 0:
            parser.add_argument(*strings, action="store_true")
        else:
            parser.add_argument(*strings, nargs=nargs)
    return parser


def runner_of(beam_args: list[str]) -> str | None:
    """The --runner named among Beam's flags, or None (the local runner)."""
    for i, a in enumerate(beam_args):
        if a.startswith("--runner="):
            return a.split("=", 1)[1]
        if a == "--runner" and i + 1 < len(beam_args):
            return beam_args[i + 1]
    return None


def check_runner(beam_args: list[str]) -> None:
    """Refuses runners that would run these pipelines wrongly, before anything starts.

    Beam 2.77's DaskRunner computes only the last step it visits ("connected to the full Bag Task
    Graph", dask_runner.py) and gives a step's tagged outputs to every consumer: in a pipeline that
    writes photos, failures and counts it runs one of those branches and drops the others, silently.
    """
    runner = runner_of(beam_args) or ""
    if runner.rsplit(".", 1)[-1] == "DaskRunner":
        raise UserError(f"--runner {runner}: Beam's DaskRunner runs only the last branch of a pipeline and mixes "
                        "tagged outputs, so photos, failures or counts would be lost; use the local runner "
                        "(no --runner), DataflowRunner, or another portable runner")


def check_flags(command: str, beam_args: list[str], own_parser: argparse.ArgumentParser) -> None:
    """Refuses, in one line, a flag that is neither the command's nor a Beam pipeline option (a typo such as
    --overwite would otherwise reach Beam, which ignores it, and the run would not do what was asked), with
    the nearest known name; and runners that would run these pipelines wrongly (check_runner)."""
    check_runner(beam_args)
    beam = _beam_option_parser()
    _, unknown = beam.parse_known_args(list(beam_args))
    if not unknown:
        return
    flag = next((u.split("=", 1)[0] for u in unknown if u.startswith("-")), None)
    if flag is None:
        raise UserError(f"unexpected argument {unknown[0]!r}: every value goes with a flag (see 'colorize {command} "
                        "--help')")
    raise _unknown(command, flag, _known(own_parser, beam=True), beam=True)


def _known(parser: argparse.ArgumentParser, beam: bool) -> list[str]:
    """Every option string of a command's parser, and with beam every Beam pipeline option's."""
    known = [o for a in parser._actions for o in a.option_strings]
    return known + ([o for a in _beam_option_parser()._actions for o in a.option_strings] if beam else [])


def _unknown(command: str, flag: str, known: list[str], beam: bool) -> UserError:
    near = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
    return UserError(f"unknown option {flag}" + (f"; did you mean {near[0]}?" if near else "") +
                     f" (not an option of 'colorize {command}'{' nor a Beam pipeline option' if beam else ''}; "
                     "see --help)")


def refuse_unknown(command: str, argv: list[str], parser: argparse.ArgumentParser, beam: bool = False) -> None:
    """Refuses a --flag that is neither the command's (nor, with beam, a Beam pipeline option) with the nearest
    known name, before argparse reads anything: a mistyped required flag (--ouput) would otherwise be answered
    "--output is required", and no flag is ever taken as an abbreviation of another (parsers set allow_abbrev
    False)."""
    known = _known(parser, beam)
    for token in argv:
        if token == "--":
            return
        flag = token.split("=", 1)[0]
        if flag.startswith("--") and flag not in known:
            raise _unknown(command, flag, known, beam)


def split_beam_args(parser: argparse.ArgumentParser, command: str, argv: list[str]) -> tuple[argparse.Namespace, tuple]:
    """A Beam stage's own flags, and the rest as Beam pipeline options, every one of them known (check_flags)."""
    refuse_unknown(command, argv, parser, beam=True)
    args, beam_args = parser.parse_known_args(argv)
    check_flags(command, beam_args, parser)
    return args, tuple(beam_args)


def dry_run_summary(report: dict) -> int:
    print(f"dry run of {report['what']}: the job was built, not submitted; its steps: {', '.join(report['job_steps'])}")
    return 0


def import_tensorflow_quietly() -> bool:
    """TensorFlow's C++ start-up notices (oneDNN, CPU features) go straight to file descriptor 2 before its
    logging is set up, and TF_CPP_MIN_LOG_LEVEL does not reach them: on processors with oneDNN's fast paths
    every command began with three lines of noise before its own one-line error. Import it (once, as the
    command would) with descriptor 2 pointed at /dev/null. Returns whether TensorFlow was imported; a
    missing or broken one is left to whatever needs it, which says so itself."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules:
        return False
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
        return True
    except ImportError:
        return False
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
