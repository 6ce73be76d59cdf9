"""The one error hierarchy: every error a user can cause is a `UserError` whose str() is one line.

The command line prints `colorize COMMAND: error: <message>` and exits 2 for any of them; every
other exception is a bug and keeps its traceback. The stages subclass it where a concept lives
(`InputError` for inputs, `ImageError` for photos, `OutputError` for output folders, ...);
`ModelError` lives here, beside the root, because every model module raises it.
"""
import re


class UserError(Exception):
    """Something the user passed or pointed at that cannot be used; str() says what and what to do."""
    exit_code = 2  # the command was not run as asked


class DiskFull(UserError):
    """The output's disk filled up: what was written is whole, the rest waits for a rerun."""
    exit_code = 1  # the run ran, but not to its end


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def reason_of(error: BaseException) -> str:
    """A one-line, readable reason for an exception: no object reprs, no traceback, no second line.

    OSErrors give their strerror alone ("No space left on device"): the caller names the file.
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = _OBJECT_REPR.sub("", str(error)).strip()
    return (text.splitlines()[0].strip() if text else "") or type(error).__name__


class ModelError(UserError):
    """A model that cannot be built, loaded or used as asked; str() says why."""
