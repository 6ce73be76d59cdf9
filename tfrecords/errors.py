"""The one error hierarchy: every error a user can cause is a `UserError` whose str() is one line.

The command line prints `colorize COMMAND: error: <message>` and exits 2 for any of them; every
other exception is a bug and keeps its traceback. The stages subclass it where a concept lives
(`InputError` for inputs, `ImageError` for photos, `ModelError` for model directories, ...).
"""
import argparse
import re


class UserError(Exception):
    """Something the user passed or pointed at that cannot be used; str() says what and what to do."""
    exit_code = 2  # the command was not run as asked


class DiskFull(UserError):
    """The output's disk filled up: what was written is whole, the rest waits for a rerun."""
    exit_code = 1  # the run ran, but not to its end


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def reason_of(error):
    """A one-line, readable reason for an exception: no object reprs, no traceback, no second line.

    OSErrors give their strerror alone ("No space left on device"): the caller names the file.
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = _OBJECT_REPR.sub("", str(error)).strip()
    return (text.splitlines()[0].strip() if text else "") or type(error).__name__


def _number(text, kind, ok, bound):
    """argparse type helper: `text` as `kind`, or a one-line error saying which bound it misses."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{value} {bound}")
    return value


def positive_int(text):
    """argparse type: an integer of at least 1."""
    return _number(text, int, lambda v: v >= 1, "is not at least 1")


def positive_float(text):
    """argparse type: a number above 0."""
    return _number(text, float, lambda v: v > 0, "is not above 0")


def non_negative_float(text):
    """argparse type: a number of at least 0."""
    return _number(text, float, lambda v: v >= 0, "is below 0")
