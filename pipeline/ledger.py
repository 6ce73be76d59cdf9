"""What "already done" means, in one place: the record this tool keeps of every colour copy it writes.

    WritePhotos:  record {input, bytes, mtime_ns, sha256, settings, state: writing} -> the copy -> the record, final
    ReadPhotos:   an input whose copy exists ---decide---> "skipped_done"  (this tool wrote it, from these bytes,
                                                                          with these settings)
                                                       -> None            (redo: the input or the settings changed,
                                                                          or its run was killed while writing it)
                                                       -> ImageError      (a file of the user's own in the way: a
                                                                          listed failure, never taken as done)

A copy is done when its record (OUTPUT/_done/RELPATH.json) says this tool wrote it from an input of the same size
and content, with the same settings: the model (a hash of its card), the vividness and the photo's colour hints
(--hints: a photo whose points changed, or that lost them, is redone). The content is compared
cheaply: an unchanged modification time (a gs:// object's update time) vouches for it; where the time moved (a
retouched scan of the same size, a copy restored from a backup) the input's SHA-256 decides. A folder holding
_done/ is an output folder of this tool: it is never read back as input (sources.list_inputs), and a run may
write into it without --allow-foreign.
"""
import hashlib
import json
import os
from collections.abc import Callable

from basics.paths import is_remote, readable
from basics.photos import ImageError
from pipeline.outputs import LOCK_FILE

LEDGER = "_done"  # the records' folder under --output
WRITING = "writing"  # a record's state while its copy is being written


def model_id(card: dict) -> str:
    """A model's identity in the records: a hash of its card (any retraining changes it)."""
    return hashlib.sha256(json.dumps(card, sort_keys=True).encode()).hexdigest()[:16]


SETTINGS = ("model", "vividness", "hints")  # what a copy was made with; "hints" only where it had some


def settings(card: dict, vividness: float) -> dict:
    """What a copy was made with, beside its input: a copy made with other settings than a run asks for is redone."""
    return {"model": model_id(card), "vividness": float(vividness)}


def with_hints(made_with: dict, points: tuple) -> dict:
    """A photo's settings with its colour hints (--hints): a copy made with other hints, or none, is redone."""
    return {**made_with, "hints": [list(p) for p in points]} if points else made_with


def ledger_of(out_relpath: str) -> str:
    """Where the record of the colour copy at out_relpath (relative to --output) lies, relative to --output."""
    return f"{LEDGER}/{out_relpath}.json"


def is_output_folder(folder: str) -> bool:
    """Whether a local folder is (the top of) an output folder of this tool: it holds the records folder."""
    return os.path.isdir(os.path.join(folder, LEDGER))


def record(origin: str, data: bytes, mtime_ns: int | None, made_with: dict) -> dict:
    """The record of a copy made from `data` (the input's bytes as read) with `made_with` (settings())."""
    return {"input": origin, "bytes": len(data), "mtime_ns": mtime_ns, "sha256": hashlib.sha256(data).hexdigest(),
            **made_with}


def encoded(done: dict, state: str | None = None) -> bytes:
    """A record as written: final, or marked with a state (WRITING) while its copy is written."""
    return json.dumps({**done, "state": state} if state else done, ensure_ascii=False).encode()


def decide(raw: bytes | None, out: str, made_with: dict, size: int, mtime_ns: int | None,
           content: Callable[[], bytes]) -> str | None:
    """Whether an input whose colour copy exists at `out` is done: "skipped_done", or None to colorize it again.
    raw: the copy's record (None: there is none); size, mtime_ns: the input's now (mtime None where it has none,
    as an archive's member); content(): its bytes, read only when the size and time leave a doubt.
    Raises ImageError for a file in the way that this tool did not write: it is left as it is."""
    if raw is None:
        raise ImageError(f"{readable(out)} in the output folder was not written by colorize run (a file of your "
                         "own?): it is left as it is; move it away, or pass --overwrite to replace it with this "
                         "photo's colour copy")
    done = json.loads(raw)
    if done.get("state") == WRITING:  # its run was killed while writing it: the copy is this tool's, redo it
        return None
    if done.get("bytes") != size or any(done.get(k) != made_with.get(k) for k in SETTINGS):
        return None
    if mtime_ns is not None and done.get("mtime_ns") == mtime_ns:
        return "skipped_done"
    return "skipped_done" if hashlib.sha256(content()).hexdigest() == done.get("sha256") else None


def holds_foreign_files(root: str) -> bool:
    """Whether a local folder holds files although no run of this tool ever wrote into it or into a folder above
    it (each run leaves its records, _done/, or its lock file): a folder of the user's own, which a run must not
    mix its copies into unasked."""
    if is_remote(root) or not os.path.isdir(root) or not os.listdir(root):
        return False
    folder = os.path.realpath(root)
    while True:  # its own records or lock, or those of a folder above it (a part of an earlier run's output)
        if any(os.path.exists(os.path.join(folder, mark)) for mark in (LEDGER, LOCK_FILE)):
            return False
        if os.path.dirname(folder) == folder:
            return True
        folder = os.path.dirname(folder)
