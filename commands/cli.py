"""The `colorize` command: preprocess, train, evaluate, run, each in its own module (commands/COMMAND.py:
its flags, their checks and its summary); here the logging set-up and the one-line errors."""
import logging
import os
import sys

from basics.errors import UserError, reason_of

# With Keras on JAX, every Beam worker process of a local run loads the model onto the same GPU: each
# takes the memory it needs instead of XLA's default of 75 % of the device for the first one.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# ... and compiles each forward pass once for all of them and for later runs: a worker finds the compiled
# program in this cache instead of spending seconds (Inception: tens of seconds on a GPU) compiling it again.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "colorize", "jax"))

COMMANDS = ("preprocess", "train", "evaluate", "run")
USAGE = """usage: colorize {preprocess,train,evaluate,run} [options]

  preprocess  image folders / tfds datasets -> TFRecords of L, ab and Inception embeddings (Beam)
  train       train the alpha (one photo), beta or fusion network on those records
  evaluate    pixel accuracy, AuC, PSNR and colourfulness against the grayscale baseline
  run         colorize a photo archive at full resolution (Beam)

'colorize COMMAND --help' lists each command's options."""



# Warnings Beam and TensorFlow print on every run that say nothing about this run.
HARMLESS = ("apitools not found", "Resource module is not available", "semi_persistent_directory",
            "Logging handler created", "absl::InitializeLog", "cpu_feature_guard")


class _Harmless(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(h in record.getMessage() for h in HARMLESS)


def _quiet(verbose):
    """Default: our own lines, real warnings and errors. --verbose: every library's INFO lines too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1" if verbose else "3")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s" if not verbose else "%(asctime)s %(name)s %(message)s",
                                           datefmt="%H:%M:%S"))
    if not verbose:
        handler.addFilter(_Harmless())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("colorize").setLevel(logging.INFO)
    if not verbose:
        for noisy in ("absl", "tensorflow", "apache_beam", "h5py"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _dispatch(command: str, argv: list[str]) -> int:
    if command not in COMMANDS:
        import difflib
        near = difflib.get_close_matches(command, COMMANDS, n=1, cutoff=0.6)
        print(USAGE, file=sys.stderr)
        print(f"colorize: error: unknown command {command!r}" + (f"; did you mean {near[0]}?" if near else ""),
              file=sys.stderr)
        return 2
    import importlib
    return importlib.import_module(f"commands.{command}").main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    _quiet("--verbose" in argv)
    try:
        return _dispatch(argv[0], argv[1:])
    except UserError as e:  # anything else is a bug and keeps its traceback
        print(f"colorize {argv[0]}: error: {reason_of(e)}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
