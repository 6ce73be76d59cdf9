"""`colorize preprocess` end to end: a real Beam pipeline on real photos and every bad input, read back with tf.data."""
import json
import os
import subprocess
import sys

import apache_beam as beam
import numpy as np
import pytest

from basics.paths import wire
from PIL import Image
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

import tfrecords
from tests.helpers import bad_inputs, jpeg_bytes, write
from pipeline import preprocess, sources
from model.inception import WeightsError, build_inception
from basics import photos as images, view
from tfrecords import contract as c
from basics.lab import rgb_to_lab
from commands import preprocess as preprocess_command

pytestmark = pytest.mark.slow  # runs the real command end to end

SIZE = 64
BROKEN = {"broken/zero.jpg", "broken/truncated.jpg", "broken/text.jpg", "broken/bomb.png"}
SKIPPED = {"notes/readme.txt": "not an image file", "modes/greyscale.jpg": "no colour",
           "modes/sixteen_bit.png": "no colour", "modes/tiny.png": "too small"}


def in_process_pipeline():
    return TestPipeline(runner=FnApiRunner())


@pytest.fixture(scope="module")
def photo_tree(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("photos")
    for name, rgb in photos.items():
        write(str(root / "real" / f"{name}.jpg"), jpeg_bytes(rgb))
    for rel, data in bad_inputs(photos).items():
        write(str(root / rel), data)
    return root


@pytest.fixture(scope="module")
def dataset(photo_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    info = preprocess_command.job(["--input", str(photo_tree), "--output", str(out), "--image-size", str(SIZE),
                           "--inception-weights", "random", "--val-fraction", "0.3"], test_pipeline=in_process_pipeline())
    return out, info


def test_decode_step_tags_every_bad_input(photo_tree):
    inputs = [preprocess.Source(wire(f.path), wire(f.relpath), None) for f in sources.list_files(str(photo_tree))]
    with in_process_pipeline() as p:
        out = (p | beam.Create(inputs)
               | beam.ParDo(preprocess.PrepareTrainingExample(SIZE, c.DEFAULT_MAX_PIXELS, 2**29, False))
               .with_outputs("skipped", "failed", main="ok"))
        rel = lambda path: os.path.relpath(path, photo_tree).replace(os.sep, "/")  # noqa: E731
        assert_that(out.failed | "FailedNames" >> beam.Map(lambda kv: rel(kv[0])), equal_to(sorted(BROKEN)),
                    label="failed")
        assert_that(out.skipped | "SkippedNames" >> beam.Map(lambda kv: rel(kv[0])), equal_to(sorted(SKIPPED)),
                    label="skipped")
        assert_that(out.ok | "OkCount" >> beam.combiners.Count.Globally(),
                    equal_to([len(inputs) - len(BROKEN) - len(SKIPPED)]), label="ok")


def test_counts_add_up_and_every_input_is_accounted_for(dataset, photo_tree):
    out, info = dataset
    n = info["counts"]
    files = sum(len(f) for _, _, f in os.walk(photo_tree))
    assert n["matched"] == files == n["written"] + n["skipped"] + n["failed"]
    assert n["failed"] == len(BROKEN) and n["skipped"] == len(SKIPPED)
    assert n["written"] == sum(n["per_split"].values()) == files - len(BROKEN) - len(SKIPPED)
    assert n["skipped_by_reason"] == {"not an image file": 1, "no colour": 2, "too small": 1}
    with open(out / c.FAILURES_JSONL) as f:
        failures = [json.loads(line) for line in f]
    assert {os.path.relpath(x["path"], photo_tree) for x in failures} == BROKEN
    assert all(x["reason"] for x in failures)
    assert json.loads((out / c.DATASET_JSON).read_text())["counts"] == n


def test_records_read_back_with_documented_shapes_ranges_and_lab(dataset, photos, photo_tree):
    out, info = dataset
    seen = {}
    for split in c.SPLITS:
        for ex in tfrecords.load(str(out), split).as_numpy_iterator():
            assert ex["l"].shape == (SIZE, SIZE, 1) and ex["ab"].shape == (SIZE, SIZE, 2)
            assert ex["embedding"].shape == (c.INCEPTION_DIM,) and ex["embedding"].dtype == np.float32
            assert -1 <= ex["l"].min() and ex["l"].max() <= 1 and np.abs(ex["ab"]).max() <= 1
            source = ex["source"].decode()
            # deterministic split by the path relative to the input folder
            assert c.split_of(os.path.relpath(source, photo_tree).replace(os.sep, "/"), 0.3) == split
            seen[source] = ex
    assert len(seen) == info["counts"]["written"]
    # L and ab round trip: the records hold the Lab of the centre crop within half a Lab unit
    ex = seen[str(photo_tree / "real" / "chelsea.jpg")]
    with open(photo_tree / "real" / "chelsea.jpg", "rb") as f:
        lab = rgb_to_lab(view.square(images.decode_rgb(f.read()), SIZE, view.CROP))
    assert np.abs(c.unscale_l(ex["l"][..., 0]) - lab[..., 0]).max() <= 0.5
    assert np.abs(c.unscale_ab(ex["ab"]) - lab[..., 1:]).max() <= 0.5
    # names with spaces and non-ASCII characters survive
    assert str(photo_tree / "names" / "with space é ü.jpg") in seen


def test_split_is_the_same_wherever_the_folder_lies(photos, tmp_path, monkeypatch):
    """A copy of a folder elsewhere, named by a relative path, splits its photos as the original did."""
    import shutil
    original = tmp_path / "original"
    small = [view.square(rgb, 48, view.CROP) for rgb in photos.values()]
    for i in range(24):
        write(str(original / f"set{i % 3}" / f"photo{i:02d}.jpg"), jpeg_bytes(small[i % len(small)]))
    shutil.copytree(original, tmp_path / "elsewhere" / "copy")
    monkeypatch.chdir(tmp_path / "elsewhere")

    def splits(folder):
        out = tmp_path / f"records_{len(os.listdir(tmp_path))}"
        preprocess_command.job(["--input", str(folder), "--output", str(out), "--image-size", "32", "--embedding", "none",
                        "--val-fraction", "0.3"], test_pipeline=in_process_pipeline())
        return {os.path.relpath(ex["source"].decode(), folder): split for split in c.SPLITS
                for ex in tfrecords.load(str(out), split).as_numpy_iterator()}
    first = splits(original)
    assert len(first) == 24 and set(first.values()) == {"train", "val"}
    assert splits("copy") == first


def test_rotated_photo_is_stored_upright(dataset, photo_tree):
    out, _ = dataset
    records = {ex["source"].decode(): ex for s in c.SPLITS for ex in tfrecords.load(str(out), s).as_numpy_iterator()}
    rotated, upright = records[str(photo_tree / "modes" / "rotated.jpg")], records[str(photo_tree / "real" / "chelsea.jpg")]
    assert np.abs(rotated["l"] - upright["l"]).mean() < 0.05


def test_dataset_json_describes_the_records(dataset):
    out, info = dataset
    assert info["schema_version"] == c.SCHEMA_VERSION and info["image_size"] == SIZE
    emb = c.EmbeddingSpec.from_dict(info["embedding"])
    assert emb.network == "inception_resnet_v2" and emb.weights == "random:1234" and emb.dim == 1000
    assert emb.output == "softmax" and len(emb.weights_sha256) == 64
    assert sorted(p.name for p in out.glob("train-*-of-*.tfrecord.gz"))
    # pure-Python reader (for non-TensorFlow backends) agrees with tf.data
    arrays = tfrecords.read_arrays(str(out), "train")
    first = next(tfrecords.load(str(out), "train").as_numpy_iterator())
    i = list(arrays["source"]).index(first["source"].decode())
    assert np.array_equal(arrays["l"][i], first["l"]) and np.array_equal(arrays["embedding"][i], first["embedding"])


def test_tfds_source_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=6):
        info = preprocess_command.job(["--input", "tfds:tf_flowers:train", "--output", str(tmp_path), "--image-size", "32",
                               "--embedding", "none", "--val-fraction", "0"], test_pipeline=in_process_pipeline())
    n = info["counts"]
    assert n["matched"] == 6 == n["written"] + n["skipped"] + n["failed"] and n["written"] > 0
    sources_seen = [x["source"].decode() for x in tfrecords.load(str(tmp_path), "train").as_numpy_iterator()]
    assert all(s.startswith("tfds:tf_flowers:train/") for s in sources_seen) and info["embedding"] is None


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "commands.cli", *args], capture_output=True, text=True, timeout=300)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_cli("preprocess", "--input", str(tmp_path / "empty"), "--output", str(tmp_path / "out"))
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("colorize preprocess: error: no files found")
    assert not (tmp_path / "out" / c.DATASET_JSON).exists()


def test_a_run_that_writes_nothing_says_so(tmp_path, photos):
    grey = np.asarray(Image.fromarray(photos["coffee"]).convert("L").convert("RGB"))
    write(str(tmp_path / "in" / "grey.jpg"), jpeg_bytes(grey))
    r = run_cli("preprocess", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                "--embedding", "none", "--direct_running_mode", "in_memory", "--direct_num_workers", "1")
    assert r.returncode == 1 and "no records were written" in r.stderr
    info = json.loads((tmp_path / "out" / c.DATASET_JSON).read_text())
    assert info["counts"]["written"] == 0 and info["counts"]["skipped"] == 1


def test_offline_imagenet_weights_give_a_one_line_error(monkeypatch, tmp_path):
    from keras.src.utils import file_utils

    def offline(*a, **k):
        raise Exception("URL fetch failure on https://example/inception.h5: None -- [Errno -2] Name or service not known")
    monkeypatch.setattr(file_utils, "get_file", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsError) as e:
        build_inception("imagenet")
    msg = str(e.value)
    assert "\n" not in msg and "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5" in msg
    assert "--inception-weights FILE" in msg


def test_local_weights_file_is_identified_by_its_tensors(tmp_path):
    model, spec = build_inception("random:7")
    path = str(tmp_path / "inception.weights.h5")
    model.save_weights(path)
    _, from_file = build_inception(path)
    assert from_file.weights == "file:inception.weights.h5"
    assert from_file.weights_sha256 == spec.weights_sha256
    with pytest.raises(WeightsError, match="does not exist"):
        build_inception(str(tmp_path / "missing.h5"))


def test_on_jax_photos_reach_inception_in_whole_batches(tmp_path, photos, monkeypatch):
    """Where every batch shape compiles and a GPU pads every batch to the batch size (JAX), photos travel
    to the workers in chunks of the batch size, so Inception sees full batches, not one photo padded to a
    batch each (what made preprocess on a GPU run far below its CPU side). TensorFlow keeps photo by photo."""
    import keras
    from pipeline import beam_support, handlers
    for i in range(16):
        name = sorted(photos)[i % len(photos)]
        write(str(tmp_path / "in" / f"{i:02d}.jpg"), jpeg_bytes(np.roll(photos[name], 7 * i, axis=1)))
    assert preprocess.inception_chunk(True, 4) == 1 and preprocess.inception_chunk(False, 4) == 1  # tensorflow
    adaptive = handlers.EmbedInception("random", batch_size=4).handler.batch_elements_kwargs()
    whole = handlers.EmbedInception("random", batch_size=4, whole_batches=True).handler.batch_elements_kwargs()
    assert (adaptive["min_batch_size"], whole["min_batch_size"], whole["max_batch_size"]) == (1, 4, 4)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    monkeypatch.setattr(beam_support.os, "cpu_count", lambda: 1)  # chunks of the batch size, not 4 a core
    assert preprocess.inception_chunk(True, 4) == 4 and preprocess.inception_chunk(False, 4) == 1
    lengths, run_inference, spreads = [], handlers.InceptionEmbeddingHandler.run_inference, []

    class Spread(beam_support.Spread):  # the chunks the photos travel in (the in-process runner's bundles
        def __init__(self, size):      # hold whole chunks anyway; worker processes' do not)
            spreads.append(size)
            super().__init__(size)
    monkeypatch.setattr(preprocess, "Spread", Spread)

    def recorded(self, batch, model, inference_args=None):
        lengths.append(len(batch))
        return run_inference(self, batch, model, inference_args)
    monkeypatch.setattr(handlers.InceptionEmbeddingHandler, "run_inference", recorded)
    info = preprocess_command.job(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--image-size", "32",
                           "--inception-weights", "random", "--batch-size", "4"], test_pipeline=in_process_pipeline())
    assert info["counts"]["written"] == 16
    assert spreads == [4] and lengths == [4, 4, 4, 4]  # whole batches, not one photo and then a few
