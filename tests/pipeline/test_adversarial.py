"""`colorize run` against hostile inputs: the originals are never touched, every input ends as one colour
copy, one counted skip or one listed failure, and nothing an archive holds can take the machine down.

Every case is built from real files (real photos, real zip / tar files, real links, a real tmpfs for
the full disk) and runs the real command.
"""
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image

from commands import cli
from pipeline import colorize, outputs
from tests.helpers import jpeg_bytes, lie_about_size, png_bytes, write
from basics.lab import lightness
from commands import run as run_command
from commands import preprocess as preprocess_command

pytestmark = pytest.mark.slow  # runs the real command end to end

LOCAL = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]


def run(*args):
    return run_command.job(list(args), test_pipeline=TestPipeline(runner=FnApiRunner()))


def cli_run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "commands.cli", "run", *args, *LOCAL],
                          capture_output=True, text=True, timeout=timeout)


def failures(out):
    return {f["path"]: f["reason"] for f in map(json.loads, open(os.path.join(out, colorize.FAILURES)))}


def snapshot(folder):
    """{relative path: bytes} of every file under a folder: the originals, to compare after a run."""
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, fs in os.walk(folder) for f in fs}


def photo_files(out):
    """The colour copies in an output folder: not its reports, log, lock or gallery."""
    return sorted(p for p in (os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
                  if not p.startswith(("_", ".", "index.html")))


@pytest.fixture()
def originals(tmp_path, photos):
    root = tmp_path / "originals"
    for name in ("coffee", "chelsea", "rocket"):
        write(str(root / "album" / f"{name}.jpg"), jpeg_bytes(photos[name]))
    return root


# 1. Output that is the input under another name -------------------------------------------------

def test_output_that_is_a_link_to_the_input_is_refused_and_originals_stay(originals, tmp_path):
    before = snapshot(originals)
    os.symlink(originals, tmp_path / "link")
    r = cli_run("--input", str(originals), "--output", str(tmp_path / "link"), "--overwrite")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("colorize run: error: --output") and \
        "is the input folder" in r.stderr
    assert snapshot(originals) == before


def test_output_inside_the_input_by_a_link_is_never_read_as_input(originals, tmp_path):
    os.makedirs(originals / "colour")
    os.symlink(originals / "colour", tmp_path / "colour-link")
    first = run("--input", str(originals), "--output", str(tmp_path / "colour-link"))
    second = run("--input", str(originals), "--output", str(tmp_path / "colour-link"))
    assert first.counts.colorized == 3 and second.counts.matched == 3
    assert second.counts.skipped_done == 3 and not (originals / "colour" / "colour").exists()


def test_a_link_inside_the_output_is_never_written_through(originals, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "album")  # planted: album/ in the output leads outside it
    # A folder holding only what someone else put there is refused unless asked for; asked, the link is not followed.
    with pytest.raises(outputs.OutputError, match="--allow-foreign"):
        run("--input", str(originals), "--output", str(out))
    report = run("--input", str(originals), "--output", str(out), "--allow-foreign")
    assert report.counts.failed == 3 and report.counts.colorized == 0
    assert os.listdir(elsewhere) == []
    assert all("is a link" in why for why in failures(out).values())


def test_input_inside_the_output_is_refused(originals):
    r = cli_run("--input", str(originals / "album"), "--output", str(originals))
    assert r.returncode == 2 and "lies inside --output" in r.stderr.strip().splitlines()[-1]


# 2. Archive members read within bounds ----------------------------------------------------------

def zip_with_zeros(path, name, size, photos):
    """A zip holding one ordinary photo and a member of `size` zero bytes (a few MB compressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("ok/coffee.jpg", jpeg_bytes(photos["coffee"]))
        with z.open(name, "w") as f:
            block = bytes(1 << 24)
            for _ in range(size // len(block)):
                f.write(block)


# Runs a command and prints the peak resident memory of its largest process, in MiB, as its last line.
PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=sys.stderr); sys.exit(r.returncode)")


def cli_run_peak(*args):
    """(completed process, peak MiB) of one `colorize run` in a single process."""
    r = subprocess.run([sys.executable, "-c", PEAK, sys.executable, "-m", "commands.cli", "run", *args, *LOCAL],
                       capture_output=True, text=True, timeout=600)
    return r, int(r.stderr.strip().splitlines()[-1])


def test_a_member_inflating_to_a_gibibyte_is_refused_unread(tmp_path, photos):
    """Before: the member was read whole (the process tree reached ~15 GiB). Now: refused from the
    zip's own directory, the one that lies about its size is cut off, and no process grows."""
    honest, liar = tmp_path / "honest.zip", tmp_path / "liar.zip"
    zip_with_zeros(honest, "huge.jpg", 1 << 30, photos)
    zip_with_zeros(liar, "huge.jpg", 1 << 30, photos)
    lie_about_size(liar, "huge.jpg", 4000)
    for archive in (honest, liar):
        out = tmp_path / f"out-{archive.stem}"
        r, peak_mib = cli_run_peak("--input", str(archive), "--output", str(out), "--max-file-mb", "64")
        assert r.returncode == 1, r.stderr[-2000:]
        assert peak_mib < 1024 + 256, peak_mib  # never the gibibyte (TensorFlow and the model take ~1 GiB alone)
        n = json.loads((out / colorize.REPORT).read_text())["counts"]
        assert (n["matched"], n["colorized"], n["failed"]) == (2, 1, 1)
        why = failures(out)[f"{archive}!huge.jpg"]
        assert ("over the limit of 64.0 MiB" in why) if archive == honest else ("first bytes" in why or "CRC" in why)


def test_a_big_member_that_is_no_image_is_refused_after_its_first_megabyte(tmp_path, photos):
    archive = tmp_path / "zeros.zip"
    zip_with_zeros(archive, "zeros.png", 1 << 28, photos)
    out = tmp_path / "out"
    report = run("--input", str(archive), "--output", str(out), "--max-file-mb", "1024")
    assert report.counts.failed == 1
    assert "its first bytes match no image format" in failures(out)[f"{archive}!zeros.png"]


# 3. Names that are not UTF-8 --------------------------------------------------------------------

def test_names_that_are_not_utf8_keep_their_bytes(tmp_path, photos):
    src = tmp_path / "old disk"
    os.makedirs(src)
    latin1 = b"caf\xe9 1952.jpg"
    with open(os.path.join(os.fsencode(src), latin1), "wb") as f:
        f.write(jpeg_bytes(photos["coffee"]))
    with open(os.path.join(os.fsencode(src), b"bro\xefken.jpg"), "wb") as f:
        f.write(b"not a photo")
    write(str(src / "plain.jpg"), jpeg_bytes(photos["rocket"]))
    out = tmp_path / "out"
    r = cli_run("--input", str(src), "--output", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert sorted(n for n in os.listdir(os.fsencode(out)) if not n.startswith(b"_") and n != b"index.html") == \
        sorted([latin1, b"plain.jpg"])
    assert failures(out) == {"bro\\xefken.jpg": "not a readable image: its first bytes match no image format"}
    # a zip made on Windows: latin-1 bytes, no UTF-8 flag
    archive = tmp_path / "windows.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo("x.jpg"), jpeg_bytes(photos["chelsea"]))
    data = open(archive, "rb").read().replace(b"x.jpg", b"\xe9.jpg")  # same length, raw latin-1 bytes
    open(archive, "wb").write(data)
    report = run("--input", str(archive), "--output", str(tmp_path / "out-zip"))
    assert report.counts.colorized == 1 and os.listdir(os.fsencode(tmp_path / "out-zip")).count(b"\xe9.jpg") == 1


def test_preprocess_takes_names_that_are_not_utf8(tmp_path, photos):
    src = tmp_path / "photos"
    os.makedirs(src)
    for i, name in enumerate((b"caf\xe9.jpg", b"plain.jpg")):
        with open(os.path.join(os.fsencode(src), name), "wb") as f:
            f.write(jpeg_bytes(photos[("coffee", "chelsea")[i]]))
    info = preprocess_command.job(["--input", str(src), "--output", str(tmp_path / "records"), "--image-size", "32",
                           "--embedding", "none", "--val-fraction", "0"], test_pipeline=TestPipeline(runner=FnApiRunner()))
    assert info["counts"]["written"] == 2 and info["counts"]["failed"] == 0


# 4. Two inputs, one output ----------------------------------------------------------------------

def test_inputs_that_map_to_one_output_are_detected(tmp_path, photos):
    src = tmp_path / "in"
    write(str(src / "x.png"), png_bytes(Image.fromarray(photos["coffee"])))
    write(str(src / "x.gif"), _gif(photos["chelsea"]))
    out = tmp_path / "out"
    report = run("--input", str(src), "--output", str(out))
    n = report.to_json()["counts"]
    assert (n["matched"], n["colorized"], n["failed"]) == (2, 1, 1)
    assert photo_files(out) == ["x.png"]
    assert np.abs(lightness(np.asarray(Image.open(out / "x.png").convert("RGB"))) -
                  lightness(photos["coffee"])).mean() < 1  # the PNG won: its copy is of the PNG
    assert "the same as that of x.png" in failures(out)["x.gif"]

    archive = tmp_path / "dups.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, photo in (("dup.jpg", "coffee"), ("dup.jpg", "rocket"), ("a.jpg", "chelsea"), ("./a.jpg", "astronaut")):
            info = zipfile.ZipInfo(name)
            z.writestr(info, jpeg_bytes(photos[photo]))
    out = tmp_path / "out-zip"
    report = run("--input", str(archive), "--output", str(out))
    n = report.to_json()["counts"]
    assert (n["matched"], n["colorized"], n["failed"]) == (4, 2, 2)
    assert photo_files(out) == ["a.jpg", "dup.jpg"] and len(photo_files(out)) == n["colorized"]
    assert "member dup.jpg" in failures(out)[f"{archive}!dup.jpg"]
    assert "member a.jpg" in failures(out)[f"{archive}!./a.jpg"]


def _gif(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(buf, "GIF")
    return buf.getvalue()


# 5. A disk that fills up ------------------------------------------------------------------------

@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    # 6 MiB: room for a few of the scans below, and for the small files a run writes besides its photos (each copy's
    # _done record and thumbnails, the failures and skipped lists, the report) once a photo has found none.
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_lists_each_photo_and_a_rerun_finishes(small_disk, tmp_path, photos):
    src = tmp_path / "scans"
    rng = np.random.default_rng(0)
    for i in range(8):  # grainy scans: 1.5-2 MB each as colour JPEGs, so only a few fit in 6 MB
        big = np.asarray(Image.fromarray(np.roll(photos["chelsea"], 40 * i, axis=1)).convert("L").resize((1800, 1200)))
        write(str(src / f"scan{i}.jpg"), jpeg_bytes(np.clip(big + rng.normal(0, 12, big.shape), 0, 255).astype(np.uint8)))
    out = small_disk / "colour"
    r = cli_run("--input", str(src), "--output", str(out), "--batch-size", "2")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert (out / colorize.REPORT).exists(), (r.stdout[-2000:], r.stderr[-2000:])
    n = json.loads((out / colorize.REPORT).read_text())["counts"]
    done = photo_files(out)
    assert n["colorized"] == len(done) and 0 < len(done) < 8 and n["failed"] == 8 - len(done)
    assert all(why == "No space left on device" for why in failures(out).values())
    for name in done:
        Image.open(out / name).load()  # every photo under a final name is whole
    assert not [f for d, _, fs in os.walk(out) for f in fs if outputs.TMP_MARK in f]
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    r = cli_run("--input", str(src), "--output", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    n = json.loads((out / colorize.REPORT).read_text())["counts"]
    assert n["skipped_done"] == len(done) and n["colorized"] == 8 - len(done) and len(photo_files(out)) == 8


# 6. User mistakes: one line before anything starts ----------------------------------------------

def broken_models(tmp_path):
    import shutil
    from model import modeldir
    models = {}
    for kind in ("corrupt", "not_json", "unsafe"):
        d = tmp_path / kind
        shutil.copytree(modeldir.DEFAULT_MODEL_DIR, d)
        models[kind] = d
    data = (models["corrupt"] / "model.keras").read_bytes()
    (models["corrupt"] / "model.keras").write_bytes(data[: len(data) // 2])
    (models["not_json"] / "model.json").write_text("{architecture: beta")
    import keras
    x = keras.Input((128, 128, 1))
    y = keras.layers.Lambda(lambda t: keras.ops.concatenate([t, t], axis=-1))(x)
    keras.Model(x, y).save(models["unsafe"] / "model.keras")
    return models


def one_line_error(capsys, command, argv):
    try:
        code = cli.main([command, *argv])
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "Traceback" not in "\n".join(err), err
    assert err[-1].startswith(f"colorize {command}: error: "), err
    return err[-1]


def test_user_mistakes_are_one_line_before_the_pipeline_starts(tmp_path, originals, capsys):
    models = broken_models(tmp_path)
    base = ["--input", str(originals), "--output", str(tmp_path / "out")]
    assert "corrupt or truncated" in one_line_error(capsys, "run", base + ["--model", str(models["corrupt"])])
    assert "not valid JSON" in one_line_error(capsys, "run", base + ["--model", str(models["not_json"])])
    assert "safe mode" in one_line_error(capsys, "run", base + ["--model", str(models["unsafe"])])
    assert "is a file" in one_line_error(capsys, "run", ["--input", str(originals), "--output",
                                                         str(originals / "album" / "coffee.jpg")])
    assert "--batch-size: 0 is not at least 1" in one_line_error(capsys, "run", base + ["--batch-size", "0"])
    assert not (tmp_path / "out").exists()  # nothing started
    pre = ["--input", str(originals), "--output", str(tmp_path / "records"), "--embedding", "none"]
    assert "--batch-size" in one_line_error(capsys, "preprocess", pre + ["--batch-size", "0"])
    assert "is a file" in one_line_error(capsys, "preprocess", ["--input", str(originals), "--output",
                                                                str(originals / "album" / "coffee.jpg")])
    bad_data = tmp_path / "bad_records"
    bad_data.mkdir()
    (bad_data / "dataset.json").write_text("not json")
    assert "not valid JSON" in one_line_error(capsys, "train", ["--architecture", "beta", "--data", str(bad_data),
                                                                "--output", str(tmp_path / "m")])
    assert "--epochs" in one_line_error(capsys, "train", ["--architecture", "beta", "--data", str(bad_data), "--output",
                                                          str(tmp_path / "m"), "--epochs", "0"])
    assert "corrupt or truncated" in one_line_error(capsys, "evaluate", ["--model", str(models["corrupt"]), "--images",
                                                                         str(originals), "--report", str(tmp_path / "r")])


# 7. A real folder whose name holds [ ] * ? ------------------------------------------------------

def test_a_folder_named_like_a_glob_is_a_folder(tmp_path, photos):
    src = tmp_path / "scans [1940] *final?"
    write(str(src / "a.jpg"), jpeg_bytes(photos["coffee"]))
    report = run("--input", str(src), "--output", str(tmp_path / "out"))
    assert report.counts.colorized == 1


# 8. Leftovers of killed runs --------------------------------------------------------------------

def test_leftovers_of_a_killed_run_are_removed(tmp_path, originals):
    out = tmp_path / "out"
    beam_temp = out / ("beam-temp-_failures-" + "0123456789abcdef" * 2)
    write(str(beam_temp / "shard"), b"partial")
    write(str(out / "album" / (outputs.TMP_MARK + "deadbeef")), b"partial photo")
    write(str(out / outputs.LOCK_FILE), b"")  # a killed run's lock file stays behind (the kernel only drops the flock)
    run("--input", str(originals), "--output", str(out))
    assert not beam_temp.exists() and photo_files(out) == ["album/chelsea.jpg", "album/coffee.jpg", "album/rocket.jpg"]


# 9. Two runs on one output ----------------------------------------------------------------------

def test_a_second_run_on_the_same_output_is_refused_and_a_dead_runs_lock_is_taken_over(tmp_path, photos):
    src = tmp_path / "in"
    for i in range(120):  # work in hand when the first run is paused below
        write(str(src / f"p{i:03d}.jpg"), jpeg_bytes(np.roll(photos["coffee"], 5 * i, axis=1)))
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "commands.cli", "run", "--input", str(src), "--output", str(out),
                              "--batch-size", "1", *LOCAL], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline, lock = time.time() + 300, out / outputs.LOCK_FILE
    while time.time() < deadline and not (lock.exists() and f"{first.pid}" in lock.read_text(errors="replace")):
        time.sleep(0.05)  # the holder writes its name after taking the lock
    # Paused, the first run stays alive and holding its lock however fast it would otherwise finish its photos
    # (a race the second run's start-up could lose on a fast or a busy machine).
    os.killpg(first.pid, signal.SIGSTOP)
    second = cli_run("--input", str(src), "--output", str(out))
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr.strip().splitlines()[-1]
    assert "is in use by another run (colorize run" in second.stderr
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert (out / outputs.LOCK_FILE).exists()  # a killed run leaves its lock file behind
    third = cli_run("--input", str(src), "--output", str(out))
    assert third.returncode == 0, third.stderr[-2000:]
    n = json.loads((out / colorize.REPORT).read_text())["counts"]
    assert n["colorized"] + n["skipped_done"] == 120 and not (out / outputs.LOCK_FILE).exists()


# 10. Every frame and page -----------------------------------------------------------------------

def test_every_page_of_a_tiff_and_every_frame_of_a_gif_is_colorized(tmp_path, photos):
    src = tmp_path / "in"
    src.mkdir()
    pages = [Image.fromarray(photos[n]).convert("L").resize((300, 200)) for n in ("coffee", "chelsea", "rocket")]
    pages[0].save(src / "card.tif", save_all=True, append_images=pages[1:])
    frames = [Image.fromarray(np.roll(photos["astronaut"], 30 * i, axis=0)).convert("L").convert("P") for i in range(4)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=120, loop=0)
    out = tmp_path / "out"
    report = run("--input", str(src), "--output", str(out))
    assert report.counts.colorized == 2 and report.counts.failed == 0
    for name, originals_, count in (("card.tif", pages, 3), ("anim.png", frames, 4)):
        with Image.open(out / name) as im:
            assert im.n_frames == count, name
            for i, original in enumerate(originals_):
                im.seek(i)
                rgb = np.asarray(im.convert("RGB"))
                assert rgb.shape[:2] == original.size[::-1]
                assert np.abs(lightness(rgb) - lightness(np.asarray(original.convert("L")))).mean() < 1.5, (name, i)
                assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).mean() > 1, (name, i)  # it has colour


# 11. Readable reasons ---------------------------------------------------------------------------

def test_failure_reasons_are_readable_and_name_the_archive_member(tmp_path, photos):
    archive = tmp_path / "box.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for name, data in (("box/text.jpg", b"just text, no photo"), ("box/ok.jpg", jpeg_bytes(photos["coffee"]))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    out = tmp_path / "out"
    run("--input", str(archive), "--output", str(out))
    reasons = failures(out)
    assert list(reasons) == [f"{archive}!box/text.jpg"]
    assert not any("object at 0x" in r or "\n" in r for r in reasons.values())
    src = tmp_path / "in"
    write(str(src / "fake.jpg"), jpeg_bytes(photos["coffee"])[:200] + b"\x00" * 50)
    run("--input", str(src), "--output", str(tmp_path / "out2"))
    assert not any("object at 0x" in r for r in failures(tmp_path / "out2").values())
