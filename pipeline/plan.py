"""The launch plan of `colorize run`, made before any worker starts: the paths checked (the output is not the
input, does not hold it, is no folder of the user's own), the inputs listed, copies that would share a name
resolved, and whether the job runs in the command's own process."""
import zipfile

from basics import photos, remote
from basics.paths import is_remote, readable
from pipeline import ledger, outputs, sources
from pipeline.beam_support import LOCAL_WORKER_FLAGS, is_local
from pipeline.steps import output_relpath


def check_paths(input_: str, output: str, allow_foreign: bool = False) -> tuple[list, list[str], list, list]:
    """Refuses an output folder that is the input or holds it, compared by real paths, and one of the user's own
    files unless `allow_foreign`; returns (files, archives, failures found while listing, folders not entered)."""
    outputs.check_folder(output)
    pattern = sources.is_pattern(input_)
    archive = sources.is_archive(input_) and not pattern
    if not pattern and not sources.exists(input_):
        raise sources.InputError(f"input {readable(input_)} does not exist")
    real_in, real_out = sources.real(sources.root_of(input_) if not archive else input_), sources.real(output)
    if real_out == real_in:
        raise outputs.OutputError(f"--output {output} is the input folder ({real_in}): colour copies would "
                                  "replace the originals; choose another folder")
    if sources.within(real_in, real_out):
        raise outputs.OutputError(f"the input {input_} lies inside --output {output}: colour copies "
                                  "could land on the originals; choose an output folder outside the input")
    if not allow_foreign and ledger.holds_foreign_files(output):
        raise outputs.OutputError(f"--output {output} holds files that colorize run did not write (a folder of your "
                                  "own?): choose a new or empty folder, or pass --allow-foreign to write beside them "
                                  "(they are never taken as done, nor replaced without --overwrite)")
    if archive:
        return [], [input_], [], []
    listing = sources.list_inputs(input_, exclude=output)
    return listing.files, [], listing.refused, listing.folders_skipped


def resolve_collisions(files: list) -> tuple[list, list]:
    """Inputs whose colour copies would share a name (x.gif beside x.png): one is kept, the others
    are failures. An input whose copy keeps its own name wins, else the first by path."""
    by_output = {}
    for f in files:
        by_output.setdefault(output_relpath(f.relpath), []).append(f)
    keep, losers = [], []
    for out, group in by_output.items():
        winner = next((f for f in group if f.relpath == out), group[0])
        keep.append(winner)
        losers += [(readable(f.relpath), f"its colour copy would be {readable(out)}, the same as "
                    f"that of {readable(winner.relpath)}: rename one of them") for f in group if f is not winner]
    return sorted(keep, key=lambda f: f.relpath), losers


# A small local job runs in this process, on a thread more than the cores (beam_support.make_pipeline): decode,
# merge and encode overlap the model's forward pass there, and no worker pays TensorFlow's import and the model's
# load (9 s on a 2-core machine) before its first photo. Worker processes win back that start on many photos:
# Python's own per-photo work (Beam's steps, the records, the thumbnails' bookkeeping) holds the GIL, so one
# process runs it on one core at a time, about 10 ms a photo more than two processes on 2 cores. Measured on 2
# cores with the shipped model (docs/benchmarks.md): 300 photos of 0.22 MP 25.1 s in this process; 400 small
# photos 21.9 s here against 30.3 s with workers, 2,000 of them 88.4 s here against 80.2 s: past about 1,000
# photos the workers win. Large scans: 10 twelve-megapixel scans took 17.5 s in one single-threaded process
# against 22.5 s with workers, so past a few hundred megapixels the workers win.
IN_PROCESS_PIXELS = 200_000_000
IN_PROCESS_FILES = 1_000


def runs_in_process(files: list, archives_: list, beam_args: tuple[str, ...]) -> bool:
    """Whether a job is small enough to run in this process: local photos (no archive, no gs:// input, no
    --runner) whose headers claim IN_PROCESS_PIXELS in all, and no worker flag of the user's own."""
    if archives_ or not is_local(beam_args) or len(files) > IN_PROCESS_FILES:
        return False
    if any(a.split("=", 1)[0] in LOCAL_WORKER_FLAGS for a in beam_args):
        return False  # the user chose the workers
    total = 0
    for f in files:
        if is_remote(f.path):
            return False
        if photos.is_image_name(f.path):
            total += photos.claimed_pixels(f.path) or 0  # an unreadable header fails fast in the pipeline
            if total > IN_PROCESS_PIXELS:
                return False
    return True


def zip_members(archives_: list[str]) -> int:
    """How many photos the zip archives hold, from their directories (tar streams cannot say): the bar's total."""
    n = 0
    for a in archives_:
        if not a.lower().endswith(".zip"):
            return 0
        with remote.open_read(a) as f:
            try:
                n += sum(not i.is_dir() and photos.is_image_name(i.filename) for i in zipfile.ZipFile(f).infolist())
            except zipfile.BadZipFile:  # the pipeline lists it as failed; the bar goes without a total
                return 0
    return n
