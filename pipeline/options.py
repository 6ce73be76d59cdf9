"""What each Beam stage is asked to do: frozen options the commands build from their flags (commands/run.py,
commands/preprocess.py). The stages take these, never argv or an argparse Namespace, and change nothing in them."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """`colorize run`: colour copies of an archive's photos."""
    input: str                 # folder (recursive), glob, gs:// path, or a .zip / .tar(.gz) archive
    output: str                # folder for the colour copies (mirrors the input tree)
    model: str | None          # model directory, local or gs://; None: the shipped model
    overwrite: bool            # redo photos whose colour copy exists
    batch_size: int            # photos in one forward pass
    max_pixels: int            # refuse images with more pixels, from their header
    vividness: float           # scales the predicted chroma
    share_model: bool          # one model for every worker process of a machine
    max_file_mb: int           # refuse a file or archive member larger than this
    verbose: bool              # libraries' logs instead of a progress bar
    beam_args: tuple[str, ...] = ()  # the Beam / Dataflow pipeline options, as given
    allow_foreign: bool = False  # write into a non-empty folder this tool never wrote into
    hints: str | None = None   # a hints file (pipeline/hintsfile.py): colours a reviewer pinned on photos


@dataclasses.dataclass(frozen=True)
class PreprocessOptions:
    """`colorize preprocess`: training records of photo folders and tfds datasets."""
    inputs: tuple[str, ...]    # folders, globs, gs:// paths, tfds:NAME[/CONFIG][:SPLIT]
    output: str                # folder for the records, dataset.json and failures.jsonl
    image_size: int            # side of the records' square
    embedding: str             # "inception_resnet_v2" or "none"
    inception_weights: str     # imagenet, random[:SEED] or a weights file
    val_fraction: float        # share of the photos held out for validation
    batch_size: int            # Inception's batch
    max_pixels: int
    max_file_mb: int
    tfds_data_dir: str | None
    share_model: bool
    verbose: bool
    beam_args: tuple[str, ...] = ()

    @property
    def tfds_specs(self) -> list[str]:
        from pipeline.sources import TFDS_PREFIX
        return [s for s in self.inputs if s.startswith(TFDS_PREFIX)]
