"""Beyond the local runner: reports exact without metrics, Dataflow jobs built offline, the sdist that
--setup_file stages, runners refused that would lose photos, and every stage on Keras' JAX backend."""
import json
import os
import subprocess
import sys
import zipfile

import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline import beam_support
from tests.helpers import bad_inputs, jpeg_bytes, write
from commands import run as run_command
from commands import preprocess as preprocess_command

DATAFLOW = ["--runner", "DataflowRunner", "--project", "test-project", "--region", "us-central1",
            "--temp_location", "gs://bucket/tmp", "--dry_run=True", "--no_auth", "--sdk_location=container"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, env=None, timeout=900):
    """The command in a subprocess; env's entries set (None: removed from this process's environment)."""
    merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "commands.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=merged, cwd=ROOT)


def archive_of(photos, root):
    for name, rgb in photos.items():
        write(os.path.join(root, "good", f"{name}.jpg"), jpeg_bytes(rgb))
    for rel, data in bad_inputs(photos).items():
        write(os.path.join(root, rel), data)
    return root


@pytest.fixture
def no_metrics(monkeypatch):
    """A runner that keeps no metrics (as Beam's DaskRunner): counters record nothing and asking for
    them fails. The reports must not notice."""
    class Dropped:
        def inc(self, n=1):
            return None
    monkeypatch.setattr(beam_support.Metrics, "counter", staticmethod(lambda *a: Dropped()))

    def refuse(self, *a, **k):
        raise NotImplementedError("collecting metrics will come later!")
    from apache_beam.runners import runner
    from apache_beam.runners.portability import portable_runner
    monkeypatch.setattr(runner.PipelineResult, "metrics", refuse)
    monkeypatch.setattr(portable_runner.PipelineResult, "metrics", refuse, raising=False)


@pytest.mark.slow
def test_run_report_is_exact_without_metrics(photos, tmp_path, no_metrics):
    src = archive_of(photos, str(tmp_path / "in"))
    out = str(tmp_path / "out")
    report = run_command.job(["--input", src, "--output", out], test_pipeline=TestPipeline(runner=FnApiRunner()))
    n = report.to_json()["counts"]
    inputs = sum(len(fs) for _, _, fs in os.walk(src))
    failures = open(os.path.join(out, "_failures.jsonl")).read().splitlines()
    # The copies: everything but the tool's own records (_report.json, _done/, _gallery/, _runs/, ...).
    written = [f for d, _, fs in os.walk(out) for f in fs
               if not os.path.relpath(os.path.join(d, f), out).startswith(("_", "."))
               and (d, f) != (out, "index.html")]
    assert n["matched"] == inputs == n["colorized"] + n["skipped_done"] + n["skipped_not_image"] + n["failed"]
    assert n["failed"] == len(failures) == 4  # zero, truncated, text, bomb
    assert n["skipped_not_image"] == 1 and n["colorized"] == len(written) == inputs - 5
    assert json.load(open(os.path.join(out, "_report.json")))["counts"] == n
    assert not os.path.exists(os.path.join(out, beam_support.COUNTS_FILE))  # its counts went into the report
    again = run_command.job(["--input", src, "--output", out], test_pipeline=TestPipeline(runner=FnApiRunner()))
    assert again.counts.skipped_done == n["colorized"] and again.counts.colorized == 0


@pytest.mark.slow
def test_dataset_json_is_exact_without_metrics(photos, tmp_path, no_metrics):
    src = archive_of(photos, str(tmp_path / "in"))
    out = str(tmp_path / "records")
    info = preprocess_command.job(["--input", src, "--output", out, "--image-size", "32", "--embedding", "none",
                           "--val-fraction", "0.3"], test_pipeline=TestPipeline(runner=FnApiRunner()))
    n = info["counts"]
    inputs = sum(len(fs) for _, _, fs in os.walk(src))
    failures = open(os.path.join(out, "failures.jsonl")).read().splitlines()
    assert n["matched"] == inputs == n["written"] + n["skipped"] + n["failed"]
    assert n["failed"] == len(failures) == 4
    # readme.txt, greyscale.jpg and sixteen_bit.png (grey), tiny.png
    assert n["skipped_by_reason"] == {"not an image file": 1, "no colour": 2, "too small": 1} and n["skipped"] == 4
    from tfrecords import records
    read = sum(len(records.read_arrays(out, s)["l"]) for s in ("train", "val") if n["per_split"][s])
    assert read == n["written"] == n["per_split"]["train"] + n["per_split"]["val"]


@pytest.mark.slow
def test_dataflow_jobs_build_offline_for_both_pipelines(tmp_path):
    """--dry_run builds and checks the Dataflow job, without network or credentials; nothing is written."""
    src = str(tmp_path / "in")
    from PIL import Image
    import numpy as np
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, np.uint8)).save(os.path.join(os.makedirs(src, exist_ok=True)
                                                                                  or src, f"{i}.png"))
    r = cli("run", "--input", src, "--output", str(tmp_path / "colour"), *DATAFLOW, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    steps = r.stdout.split("its steps: ", 1)[1].strip().split(", ")
    assert {"ListInputs", "Spread", "ReadPhotos", "PrepareModelInput", "Colorize", "WritePhotos", "GroupFrames",
            "WriteMultiFrame", "Failures", "CountOutcomes"} <= set(steps)
    r = cli("preprocess", "--input", src, "--output", str(tmp_path / "records"), "--inception-weights", "random",
            *DATAFLOW, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    steps = r.stdout.split("its steps: ", 1)[1].strip().split(", ")
    assert {"CreateInputs", "Spread", "DecodeAndPrepare", "EmbedInception", "EncodeRecords", "SplitTrainVal",
            "WriteTrain", "WriteVal", "Failures", "CountOutcomes"} <= set(steps)
    assert os.listdir(tmp_path / "colour") == [] and os.listdir(tmp_path / "records") == []


def test_dask_runner_is_refused_before_anything_starts(tmp_path):
    r = cli("run", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--runner", "DaskRunner", timeout=120)
    assert r.returncode == 2 and "runs only the last branch" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.slow
def test_sdist_installs_the_commands_and_carries_the_shipped_model(tmp_path):
    """What --setup_file stages on Dataflow: the sdist built from setup.py, installed without its
    dependencies (the workers' image has them), gives `colorize` and the shipped model."""
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(tmp_path / "dist")], cwd=ROOT,
                   check=True, capture_output=True)
    (sdist,) = os.listdir(tmp_path / "dist")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(target), str(tmp_path / "dist" / sdist)], check=True, capture_output=True)
    model = target / "model" / "default" / "model.keras"
    assert zipfile.is_zipfile(model) and model.stat().st_size == os.path.getsize(
        os.path.join(ROOT, "model", "default", "model.keras"))
    (info,) = [d for d in os.listdir(target) if d.endswith(".dist-info")]
    assert "colorize = commands.cli:main" in (target / info / "entry_points.txt").read_text()
    r = subprocess.run([sys.executable, "-c", "from commands.cli import main; main(['run', '--help'])"],
                       capture_output=True, text=True, cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(target)})
    assert r.returncode == 0 and "--vividness" in r.stdout
    r = subprocess.run([sys.executable, "-c", "import model.modeldir as m; print(m.DEFAULT_MODEL_DIR); "
                        "print(m.load(None)[1]['architecture'])"], capture_output=True, text=True, cwd=str(tmp_path),
                       env={**os.environ, "PYTHONPATH": str(target)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines()[0].startswith(str(target)) and r.stdout.splitlines()[1] == "beta"


@pytest.mark.slow
def test_every_stage_runs_on_the_jax_backend(photos, tmp_path):
    """preprocess, train, evaluate and run with KERAS_BACKEND=jax, and TensorFlow never imported; the
    compiled programs kept in the user's cache."""
    src = str(tmp_path / "in")
    for name, rgb in photos.items():
        write(os.path.join(src, f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(src, f"{name}_mirror.jpg"), jpeg_bytes(rgb[:, ::-1].copy()))
    jax = {"KERAS_BACKEND": "jax", "PYTHONPATH": os.path.join(ROOT, "tests", "no_tensorflow"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"),  # where the compile cache goes by default ...
           "JAX_COMPILATION_CACHE_DIR": None,  # ... unless set, as importing commands.cli in this process does
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # keep every program, however quick its compile
    records, model, colour = str(tmp_path / "records"), str(tmp_path / "model"), str(tmp_path / "colour")
    r = cli("preprocess", "--input", src, "--output", records, "--image-size", "32", "--inception-weights", "random",
            "--val-fraction", "0.25", env=jax)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.load(open(os.path.join(records, "dataset.json")))["counts"]["written"] == 12
    r = cli("train", "--architecture", "fusion", "--data", records, "--output", model, "--epochs", "2", "--batch-size", "4",
            "--loss", "classification", env=jax)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.load(open(os.path.join(model, "model.json")))["training"]["backend"] == "jax"
    r = cli("run", "--input", src, "--output", colour, "--model", model, env=jax)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.load(open(os.path.join(colour, "_report.json")))["counts"]["colorized"] == 12
    # compiled programs were kept for the other workers and later runs, in the default place
    assert os.listdir(tmp_path / "cache" / "colorize" / "jax")


def test_a_users_local_flag_replaces_only_that_default():
    """`--direct_num_workers 4` alone keeps worker processes (not one in-process thread) and the quiet logs."""
    from apache_beam.options.pipeline_options import DirectOptions, WorkerOptions
    options = beam_support.make_pipeline(["--direct_num_workers", "4"]).options
    direct = options.view_as(DirectOptions)
    assert direct.direct_num_workers == 4 and direct.direct_running_mode == "multi_processing"
    assert options.view_as(WorkerOptions).default_sdk_harness_log_level == "WARNING"
    default = beam_support.make_pipeline([]).options.view_as(DirectOptions)
    assert default.direct_num_workers == (os.cpu_count() or 1) and default.direct_running_mode == "multi_processing"


def test_a_mistyped_flag_is_refused_with_the_nearest_name_before_anything_starts(tmp_path):
    r = cli("run", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--overwite", timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "unknown option --overwite; did you mean --overwrite?" in r.stderr
    r = cli("preprocess", "--input", str(tmp_path), "--output", str(tmp_path / "rec"), "--projet", "p", timeout=120)
    assert r.returncode == 2 and "unknown option --projet; did you mean --project?" in r.stderr
    assert not os.path.exists(tmp_path / "out") and not os.path.exists(tmp_path / "rec")


@pytest.mark.slow
def test_a_model_that_is_a_file_is_one_line_and_exit_2(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not a model")
    r = cli("run", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--model", str(photo), timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "is a file, not a model directory" in r.stderr
