"""`colorize run` over a real, messy photo tree: full resolution, mirrored, nothing lost, resumable, confined."""
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image

from tests.helpers import bad_inputs, jpeg_bytes, png_bytes, write
from pipeline import colorize, gallery, ledger, outputs, plan, steps
from basics import photos as images
from basics.lab import lightness
from commands import run as run_command
from commands import preprocess as preprocess_command

pytestmark = pytest.mark.slow  # runs the real command end to end

BROKEN = {"broken/zero.jpg", "broken/truncated.jpg", "broken/text.jpg", "broken/bomb.png"}
NOT_IMAGES = {"notes/readme.txt"}


def run(*args):
    return run_command.job(list(args), test_pipeline=TestPipeline(runner=FnApiRunner()))


def upright_l(data):
    """The input's lightness as its colour copy keeps it: upright, alpha apart (kept as alpha, not composited)."""
    return lightness(images.eight_bit(images.master(images.to_upright(images.open_image(data))).pixels))


@pytest.fixture(scope="module")
def tree(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("archive")
    files = dict(bad_inputs(photos))
    files["colour/astronaut.jpg"] = jpeg_bytes(photos["astronaut"])
    files["colour/deeper/still/coffee.png"] = png_bytes(Image.fromarray(photos["coffee"]))
    files["bw/chelsea.jpg"] = jpeg_bytes(np.asarray(Image.fromarray(photos["chelsea"]).convert("L")))
    files["bw/big scan.jpg"] = jpeg_bytes(np.asarray(Image.fromarray(photos["rocket"]).convert("L").resize((2400, 1600))))
    exif = Image.Exif()
    exif[0x010F] = "Archive Camera Co"  # Make
    buf = io.BytesIO()
    Image.fromarray(photos["china"]).save(buf, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=b"fake-icc")
    files["colour/with_exif.jpg"] = buf.getvalue()
    for rel, data in files.items():
        write(str(root / rel), data)
    return root, files


@pytest.fixture(scope="module")
def first_run(tree, tmp_path_factory):
    root, _ = tree
    out = tmp_path_factory.mktemp("colour")
    return out, run("--input", str(root), "--output", str(out), "--batch-size", "4")


def test_every_good_photo_comes_out_full_size_with_its_own_luminance(tree, first_run):
    root, files = tree
    out, report = first_run
    good = [r for r in files if r not in BROKEN | NOT_IMAGES]
    for rel in good:
        dest = out / steps.output_relpath(rel)
        assert dest.exists(), rel
        data = files[rel]
        l_in = upright_l(data)
        with Image.open(dest) as im:
            result = np.asarray(im.convert("RGB"))
        assert result.shape[:2] == l_in.shape, rel
        assert np.abs(lightness(result) - l_in).mean() < 1.0, rel
    assert (out / "modes" / "palette.png").exists()  # GIF colour copies are PNG
    colour = np.asarray(Image.open(out / "bw" / "chelsea.jpg"))
    assert colour.ndim == 3 and np.abs(colour[..., 0].astype(int) - colour[..., 2]).mean() > 1  # it has colour


def test_report_adds_up_and_lists_every_failure(tree, first_run):
    root, files = tree
    out, report = first_run
    n = report.to_json()["counts"]
    assert n["matched"] == len(files) == n["colorized"] + n["skipped_done"] + n["skipped_not_image"] + n["failed"]
    assert n["failed"] == len(BROKEN) and n["skipped_not_image"] == len(NOT_IMAGES)
    assert json.loads((out / colorize.REPORT).read_text())["counts"] == n
    failures = [json.loads(line) for line in open(out / colorize.FAILURES)]
    assert {f["path"] for f in failures} == BROKEN and all(f["reason"] for f in failures)
    assert "exceeds the limit" in next(f["reason"] for f in failures if f["path"] == "broken/bomb.png")
    # Every file skipped is named with why, in _skipped.jsonl and on the gallery's failures page.
    skipped = [json.loads(line) for line in open(out / colorize.SKIPPED)]
    assert {f["path"] for f in skipped} == NOT_IMAGES and all(f["reason"].startswith("not an image") for f in skipped)
    page = (out / "_gallery" / "failures.html").read_text()
    assert all(path in page for path in NOT_IMAGES | BROKEN) and "skipped, and why" in page


def test_metadata_is_kept(first_run):
    out, _ = first_run
    with Image.open(out / "colour" / "with_exif.jpg") as im:
        # EXIF kept; the input's profile (bytes LittleCMS cannot read: its pixels were taken as sRGB) is not, the
        # copy's is sRGB's, which is what its pixels are
        assert im.getexif()[0x010F] == "Archive Camera Co" and im.info.get("icc_profile") == images.SRGB_PROFILE
    with Image.open(out / "modes" / "rotated.jpg") as im:
        assert im.getexif().get(0x0112, 1) == 1  # pixels are upright, so no rotation is left to apply


def test_second_run_rewrites_nothing_and_overwrite_redoes(tree, first_run):
    root, files = tree
    out, first = first_run
    outputs = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("_") and p.name != "index.html"
                     and "_gallery" not in p.parts)
    stamps = {p: p.stat().st_mtime_ns for p in outputs}
    second = run("--input", str(root), "--output", str(out))
    assert second.counts.colorized == 0
    assert second.counts.skipped_done == first.counts.colorized
    skipped = [json.loads(line) for line in open(out / colorize.SKIPPED)]
    assert sum(f["reason"].startswith("already done") for f in skipped) == first.counts.colorized
    # Each run's record is kept: the first run's report and failures survive the second's.
    records = sorted((out / "_runs").iterdir())
    assert [r.name for r in records] == sorted(os.path.basename(x.record) for x in (first, second))
    kept = json.loads((out / "_runs" / os.path.basename(first.record) / colorize.REPORT).read_text())
    assert kept["counts"] == first.to_json()["counts"] and (out / colorize.REPORT).read_text() != json.dumps(kept)
    assert (out / "_runs" / os.path.basename(first.record) / colorize.FAILURES).read_bytes().count(b"\n") == len(BROKEN)
    assert {p: p.stat().st_mtime_ns for p in outputs} == stamps
    # One summary of the whole folder, over both runs: every copy on disk, each run's record and counts.
    summary = json.loads((out / gallery.SUMMARY).read_text())
    assert summary["copies"] == first.counts.colorized == len([p for p in outputs if "_done" not in p.parts])
    assert [r["record"] for r in summary["runs"]] == [f"_runs/{r.name}" for r in records]
    assert [r["counts"] for r in summary["runs"]] == [first.to_json()["counts"], second.to_json()["counts"]]
    assert summary["failed_in_latest_run"] == len(BROKEN) and second.folder == summary
    third = run("--input", str(root / "colour"), "--output", str(out / "colour"), "--overwrite")
    assert third.counts.colorized == 3


def test_zip_members_are_confined_to_the_output(tmp_path, photos):
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("album/one.jpg", jpeg_bytes(photos["coffee"]))
        z.writestr("../escape.jpg", jpeg_bytes(photos["chelsea"]))
        z.writestr("/etc/evil.jpg", jpeg_bytes(photos["chelsea"]))
        z.writestr("album/broken.jpg", b"")
    out = tmp_path / "out"
    report = run("--input", str(archive), "--output", str(out))
    n = report.to_json()["counts"]
    assert (n["matched"], n["colorized"], n["failed"]) == (4, 1, 3)
    assert (out / "album" / "one.jpg").exists()
    assert not (tmp_path / "escape.jpg").exists() and not os.path.exists("/etc/evil.jpg")
    reasons = {f["path"]: f["reason"] for f in map(json.loads, open(out / colorize.FAILURES))}
    assert "refused archive member" in reasons[f"{archive}!../escape.jpg"]
    assert "refused archive member" in reasons[f"{archive}!/etc/evil.jpg"]
    written = {str(p.relative_to(out)) for p in out.rglob("*")
               if p.is_file() and "_gallery" not in p.parts and "_runs" not in p.parts}
    assert written == {"album/one.jpg", "_done/album/one.jpg.json", colorize.REPORT, colorize.FAILURES,
                       colorize.SKIPPED, "index.html", gallery.SUMMARY}


def test_pixel_limit_rejects_large_images(tmp_path, photos):
    write(str(tmp_path / "in" / "big.jpg"), jpeg_bytes(photos["astronaut"]))  # 512 x 512
    report = run("--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--max-pixels", "100000")
    assert report.counts.failed == 1 and "exceeds the limit of 100000" in open(
        tmp_path / "out" / colorize.FAILURES).read()


def test_killed_run_resumes_with_every_photo_done_once_and_no_partial_files(tmp_path, photos):
    names = []
    for i in range(40):
        rgb = np.roll(photos["coffee"], 7 * i, axis=1)
        names.append(f"set{i % 3}/photo{i:02d}.jpg")
        write(str(tmp_path / "in" / names[-1]), jpeg_bytes(rgb))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "commands.cli", "run", "--input", str(tmp_path / "in"), "--output", str(out),
           "--batch-size", "2", "--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.rglob("photo*.jpg"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(out.rglob("photo*.jpg")))
    assert 3 <= done_before < 40, done_before
    # A copy whose final record the kill forestalled (the poll above stops the run right after a copy lands) is
    # known by its "writing" record: redone, never taken for a file of the user's, nor for done.
    records = [json.loads(p.read_text()) for p in (out / "_done").rglob("*.json")]
    finished = sum(r.get("state") != ledger.WRITING for r in records)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((out / colorize.REPORT).read_text())["counts"]
    assert report["colorized"] + report["skipped_done"] == 40 and report["skipped_done"] == finished
    assert done_before - 1 <= finished <= done_before
    assert sorted(str(p.relative_to(out)) for p in out.rglob("photo*.jpg")) == sorted(names)
    assert not [p for p in out.rglob("*") if outputs.TMP_MARK in p.name]
    for p in out.rglob("photo*.jpg"):
        with Image.open(p) as im:
            im.load()  # every file is a whole photo


def test_cli_exit_code_says_where_the_failures_are(tmp_path, photos):
    write(str(tmp_path / "in" / "ok.jpg"), jpeg_bytes(photos["coffee"]))
    write(str(tmp_path / "in" / "bad.jpg"), b"")
    r = subprocess.run([sys.executable, "-m", "commands.cli", "run", "--input", str(tmp_path / "in"), "--output",
                        str(tmp_path / "out"), "--direct_running_mode", "in_memory", "--direct_num_workers", "1"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and f"see {tmp_path / 'out' / colorize.FAILURES}" in r.stderr
    r = subprocess.run([sys.executable, "-m", "commands.cli", "run", "--input", str(tmp_path / "nowhere"),
                        "--output", str(tmp_path / "out2")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == \
        f"colorize run: error: input {tmp_path / 'nowhere'} does not exist"


def test_tar_archive_refuses_links(tmp_path, photos):
    import tarfile
    archive = tmp_path / "photos.tar.gz"
    data = jpeg_bytes(photos["chelsea"])
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("album/cat.jpg")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("album/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
    report = run("--input", str(archive), "--output", str(tmp_path / "out"))
    assert (report.counts.colorized, report.counts.failed) == (1, 1)
    assert Image.open(tmp_path / "out" / "album" / "cat.jpg").size == (451, 300)
    assert "not a regular file" in open(tmp_path / "out" / colorize.FAILURES).read()


def test_fusion_model_gets_its_embedding_in_the_pipeline(records, tmp_path, photos):
    from commands import train
    model_dir = str(tmp_path / "fusion")
    train.main(["--architecture", "fusion", "--data", str(records), "--output", model_dir,
                "--epochs", "1", "--batch-size", "4"])
    for name in ("coffee", "rocket"):
        write(str(tmp_path / "in" / f"{name}.jpg"), jpeg_bytes(photos[name]))
    report = run("--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--model", model_dir)
    assert report.counts.colorized == 2 and report.model["architecture"] == "fusion"
    assert Image.open(tmp_path / "out" / "rocket.jpg").size == (640, 427)


def test_a_shared_model_is_loaded_once_for_every_worker_and_colours_alike(tmp_path, photos):
    """--share-model: two worker processes, one model load (the log says so), the same colour copies as
    a run where each worker loads its own; preprocess hands the flag to its Inception handler."""
    for i in range(8):
        name, rgb = sorted(photos.items())[i % len(photos)]
        write(str(tmp_path / "in" / f"p{i:02d}_{name}.jpg"), jpeg_bytes(np.roll(rgb, 5 * i, axis=0)))
    two_workers = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]

    def cli(*args):
        r = subprocess.run([sys.executable, "-m", "commands.cli", *args, *two_workers], capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]

    for out, flags in (("shared", ["--share-model"]), ("own", [])):
        cli("run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / out), "--batch-size", "2", *flags)
        assert json.loads((tmp_path / out / colorize.REPORT).read_text())["counts"]["colorized"] == 8
    loads = lambda out: (tmp_path / out / "_log.txt").read_text().count("model loaded in")  # noqa: E731
    assert loads("shared") == 1 and loads("own") == 2
    assert "shared with this machine" in (tmp_path / "shared" / "_log.txt").read_text()
    for p in sorted((tmp_path / "in").iterdir()):
        a, b = (np.asarray(Image.open(tmp_path / out / p.name), np.int16) for out in ("shared", "own"))
        assert np.abs(a - b).max() <= 2, p.name  # one model or two: the same colours

    from pipeline import handlers  # preprocess hands the same flag to its Inception handler
    opts = preprocess_command.options(["--input", "x", "--output", "y", "--share-model"])
    assert handlers.EmbedInception("random", share=opts.share_model).handler.share_model_across_processes()
    assert not handlers.EmbedInception("random").handler.share_model_across_processes()


def test_already_done_means_written_by_this_tool_from_this_input(tmp_path, photos):
    """A user's own file where a copy would go is never taken as done, nor replaced unasked; a folder of the user's
    own is refused unless --allow-foreign; an input that changed since its copy was made is done again."""
    from pipeline import outputs
    grey = {name: np.asarray(Image.fromarray(photos[name]).convert("L")) for name in ("astronaut", "chelsea")}
    write(str(tmp_path / "in" / "astronaut.jpg"), jpeg_bytes(grey["astronaut"]))
    write(str(tmp_path / "in" / "chelsea.jpg"), jpeg_bytes(grey["chelsea"]))
    out = tmp_path / "mine"
    theirs = jpeg_bytes(photos["coffee"])  # an unrelated photo of the user's, under an input's name
    write(str(out / "astronaut.jpg"), theirs)
    with pytest.raises(outputs.OutputError, match="did not write.*--allow-foreign"):
        run("--input", str(tmp_path / "in"), "--output", str(out))
    first = run("--input", str(tmp_path / "in"), "--output", str(out), "--allow-foreign")
    assert (first.counts.colorized, first.counts.failed, first.counts.skipped_done) == (1, 1, 0)
    reasons = {f["path"]: f["reason"] for f in map(json.loads, open(out / colorize.FAILURES))}
    assert "was not written by colorize run" in reasons["astronaut.jpg"]
    assert (out / "astronaut.jpg").read_bytes() == theirs
    index = (out / "index.html").read_text()
    assert "chelsea.jpg" in index and "astronaut.jpg" not in index  # the gallery shows the tool's copies alone
    again = run("--input", str(tmp_path / "in"), "--output", str(out))  # the tool has written here: no flag needed
    assert (again.counts.skipped_done, again.counts.failed) == (1, 1)
    write(str(tmp_path / "in" / "chelsea.jpg"), jpeg_bytes(grey["chelsea"][::-1]))  # the input changed
    changed = run("--input", str(tmp_path / "in"), "--output", str(out))
    assert (changed.counts.colorized, changed.counts.skipped_done) == (1, 0)
    replaced = run("--input", str(tmp_path / "in"), "--output", str(out), "--overwrite")
    assert replaced.counts.colorized == 2 and (out / "astronaut.jpg").read_bytes() != theirs


def test_a_small_local_job_runs_in_this_process_and_a_large_one_in_workers(tmp_path, photos, monkeypatch):
    """runs_in_process reads the photos' headers: a few local photos run in the launcher's process; an archive,
    a remote runner, the user's own worker flags or more pixels than the budget keep a worker per core."""
    from pipeline import sources
    root = tmp_path / "in"
    write(str(root / "a.jpg"), jpeg_bytes(photos["astronaut"]))
    write(str(root / "deeper" / "b.png"), png_bytes(Image.fromarray(photos["coffee"])))
    write(str(root / "notes.txt"), b"not a photo")
    write(str(root / "broken.jpg"), b"\xff\xd8\xff")  # no readable header: costs nothing, fails in the pipeline
    files = sources.list_inputs(str(root)).files
    assert images.claimed_pixels(str(root / "a.jpg")) == 512 * 512
    assert images.claimed_pixels(str(root / "deeper" / "b.png")) == 400 * 600
    assert images.claimed_pixels(str(root / "broken.jpg")) is None
    assert images.claimed_pixels(str(root / "notes.txt")) is None
    assert plan.runs_in_process(files, [], ())
    assert not plan.runs_in_process(files, ["photos.zip"], ())
    assert not plan.runs_in_process(files, [], ("--runner", "DataflowRunner", "--project", "p"))
    assert not plan.runs_in_process(files, [], ("--direct_num_workers=2",))
    monkeypatch.setattr(plan, "IN_PROCESS_PIXELS", 512 * 512 + 400 * 600 - 1)
    assert not plan.runs_in_process(files, [], ())
