"""A run a person can watch and review: one progress bar (on a terminal and in plain logs), quiet output,
a gallery that a real browser renders, and the vividness control."""
import html
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image

from model import metrics
from pipeline import colorize, gallery
from tests.helpers import jpeg_bytes, png_bytes, write
from commands import run as run_command

pytestmark = pytest.mark.slow  # runs the real command end to end
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
BAR = re.compile(r"\[[#-]+\] (\d+)/(\d+) photos")


def photo_folder(root, photos, n):
    for i in range(n):
        write(str(root / f"set{i % 2}" / f"p{i:02d}.jpg"), jpeg_bytes(np.roll(photos["coffee"], 9 * i, axis=1)))
    return root


def in_a_terminal(args, timeout=600):
    """Runs `colorize ARGS` with a pseudo-terminal as its stdout and stderr; returns (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "commands.cli", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=ROOT, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.time() + timeout
    while time.time() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_run_draws_one_bar_on_a_terminal(tmp_path, photos):
    src = photo_folder(tmp_path / "in", photos, 12)
    code, out = in_a_terminal(["run", "--input", str(src), "--output", str(tmp_path / "out"), "--batch-size", "2",
                               *LOCAL])
    assert code == 0, out[-3000:]
    bars = BAR.findall(out)
    assert bars and {total for _, total in bars} == {"12"} and bars[-1] == ("12", "12")
    assert "\r" in out and "elapsed" in out and "left" in out
    assert "sdk_worker" not in out and "apitools" not in out


def test_preprocess_draws_its_bar_on_a_terminal(tmp_path, photos):
    src = photo_folder(tmp_path / "in", photos, 10)
    code, out = in_a_terminal(["preprocess", "--input", str(src), "--output", str(tmp_path / "records"),
                               "--image-size", "32", "--embedding", "none", *LOCAL])
    assert code == 0, out[-3000:]
    assert BAR.findall(out)[-1] == ("10", "10")


def test_without_a_terminal_the_bar_is_plain_lines(tmp_path, photos):
    src = photo_folder(tmp_path / "in", photos, 6)
    cmd = [sys.executable, "-m", "commands.cli", "run", "--input", str(src), "--output", str(tmp_path / "out"), *LOCAL]
    # a line every 0.2 s instead of 30: the run's own start (seconds) alone prints several
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT,
                       env={**os.environ, "COLORIZE_PROGRESS_EVERY": "0.2"})
    assert r.returncode == 0, r.stderr[-2000:]
    bars = BAR.findall(r.stderr)
    assert "\r" not in r.stderr and bars[-1] == ("6", "6") and len(bars) >= 4
    assert [int(d) for d, _ in bars] == sorted(int(d) for d, _ in bars)  # counts only grow
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT,
                       env={**os.environ, "COLORIZE_PROGRESS_EVERY": "often"})
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip().splitlines()[-1] == (
        "colorize run: error: COLORIZE_PROGRESS_EVERY='often': expected a number of seconds above 0")


def test_the_readme_first_command_is_quiet_and_verbose_brings_the_logs_back(tmp_path):
    out = tmp_path / "colour"
    r = subprocess.run([sys.executable, "-m", "commands.cli", "run", "--input", os.path.join(ROOT, "samples", "bw"),
                        "--output", str(out)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip() and not BAR.search(x)]
    assert len(lines) <= 10, lines
    assert "review the results:" in r.stdout and "Traceback" not in r.stderr
    assert "model loaded in" in (out / colorize.LOG).read_text()  # the workers' log is kept, not shown
    # Six photos are a small job: run in this process, no worker process started for them.
    assert json.loads((out / colorize.REPORT).read_text())["in_process"] is True
    r = subprocess.run([sys.executable, "-m", "commands.cli", "run", "--input", os.path.join(ROOT, "samples", "bw"),
                        "--output", str(tmp_path / "verbose"), "--verbose"], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0 and "model loaded in" in r.stderr


def chromium():
    """Debian's chromium, which the README's test command (and so .ci/run) installs before the tests run."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is missing: the README's test command installs it (apt-get install chromium)"
    return path


def render(browser, page):
    """The page's DOM after a real browser loaded it and its images, from disk."""
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                        "--dump-dom", f"file://{page}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_the_gallery_renders_in_a_real_browser_paged_and_rerun_safe(tmp_path, photos, monkeypatch):
    browser = chromium()
    monkeypatch.setattr(gallery, "PAGE_SIZE", 4)
    src = photo_folder(tmp_path / "in", photos, 7)
    write(str(tmp_path / "in" / "broken.jpg"), b"not a photo")
    out = tmp_path / "out"
    run_command.job(["--input", str(src), "--output", str(out)], test_pipeline=TestPipeline(runner=FnApiRunner()))
    for i in range(7, 10):  # new photos arrive; the rerun keeps the first seven in the gallery
        write(str(src / "set2" / f"p{i:02d}.jpg"), jpeg_bytes(np.roll(photos["rocket"], 9 * i, axis=1)))
    run_command.job(["--input", str(src), "--output", str(out)], test_pipeline=TestPipeline(runner=FnApiRunner()))
    pages = [out / gallery.INDEX, out / gallery.FOLDER / "page-2.html", out / gallery.FOLDER / "page-3.html"]
    shown, linked = [], []
    for page in pages:
        dom = render(browser, page)
        assert "class=\"broken\"" not in dom  # every thumbnail loaded in the browser
        figures = re.findall(r"<figure>.*?</figure>", dom, re.S)
        shown += figures
        for href in re.findall(r"<a href=\"([^\"]+)\"><span class=\"shot\"><img", dom):
            linked.append(os.path.normpath(os.path.join(page.parent, href)))
        for src_ in re.findall(r"<img src=\"([^\"]+)\"", dom):
            assert os.path.isfile(os.path.join(page.parent, src_)), src_
    assert len(shown) == 10 and len(re.findall(r"<figure>", render(browser, pages[0]))) == 4
    assert sorted(linked) == sorted(str(p) for p in out.rglob("p*.jpg") if gallery.FOLDER not in p.parts)
    front = render(browser, pages[0])
    assert "11 files found: 3 colorized, 7 already done by an earlier run, 1 could not be colorized." in front
    # photos already done are no problem to explain: the link counts each kind of skip by its own name
    assert "why 1 could not be colorized and what was skipped (7 already done)" in front
    failures = render(browser, out / gallery.FOLDER / "failures.html")
    assert "broken.jpg" in failures and "not a readable image" in failures


def test_vividness_scales_colour_in_run_and_evaluate(tmp_path, photos):
    from commands import evaluate
    src = tmp_path / "in"
    write(str(src / "coffee.jpg"), jpeg_bytes(np.asarray(Image.fromarray(photos["coffee"]).convert("L"))))
    colourfulness = {}
    for v in ("0", "1", "1.5"):
        out = tmp_path / f"out{v}"
        run_command.job(["--input", str(src), "--output", str(out), "--vividness", v],
                     test_pipeline=TestPipeline(runner=FnApiRunner()))
        colourfulness[v] = metrics.colourfulness(np.asarray(Image.open(out / "coffee.jpg").convert("RGB")))
    assert colourfulness["0"] < 1 < colourfulness["1"] < colourfulness["1.5"]
    write(str(tmp_path / "colour" / "astronaut.jpg"), jpeg_bytes(photos["astronaut"]))
    seen = {}
    for v in ("1", "2"):
        assert evaluate.main(["--images", str(tmp_path / "colour"), "--report", str(tmp_path / f"r{v}"),
                              "--vividness", v]) == 0
        seen[v] = json.loads((tmp_path / f"r{v}" / "metrics.json").read_text())
    assert seen["2"]["model"]["colourfulness"] > seen["1"]["model"]["colourfulness"] and seen["2"]["vividness"] == 2


PROBE = """<script>window.addEventListener('load', () => {
  const boxes = [...document.images].map(i => { const r = i.getBoundingClientRect(); return [r.width, r.height]; });
  document.body.setAttribute('data-boxes', JSON.stringify(boxes));
  document.body.setAttribute('data-page-width', document.documentElement.scrollWidth);
});</script>"""


def test_the_gallery_shows_photos_of_any_shape_in_one_tile_each_labelled(tmp_path, photos):
    """A 5000 x 1 strip, a 1 x 3000 sliver and a panorama: in a real browser each thumbnail fits its 150 px square,
    the page is no wider than the window, and each pair says which is the original and which the copy."""
    browser = chromium()
    src = tmp_path / "in"
    grey = np.asarray(Image.fromarray(photos["coffee"]).convert("L"))
    write(str(src / "strip.png"), png_bytes(Image.fromarray(np.tile(grey[200:201, :500], (1, 10)))))   # 5000 x 1
    write(str(src / "sliver.png"), png_bytes(Image.fromarray(np.tile(grey[:300, 300:301], (10, 1)))))  # 1 x 3000
    write(str(src / "panorama.jpg"), jpeg_bytes(np.tile(grey, (1, 6))))                                # 3600 x 400
    write(str(src / "notes.txt"), b"a note")
    out = tmp_path / "out"
    report = run_command.job(["--input", str(src), "--output", str(out)], test_pipeline=TestPipeline(runner=FnApiRunner()))
    assert report.counts.colorized == 3
    page = out / "probe.html"  # beside index.html, so its relative links hold
    page.write_text((out / gallery.INDEX).read_text().replace("</body>", PROBE + "</body>"))
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                        "--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom", f"file://{page}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    boxes = json.loads(html.unescape(re.search(r'data-boxes="([^"]+)"', r.stdout).group(1)))
    assert len(boxes) == 6 and all(w <= 150 and h <= 150 for w, h in boxes), boxes
    assert int(re.search(r'data-page-width="(\d+)"', r.stdout).group(1)) <= 1280
    assert r.stdout.count(">black-and-white</span>") == 3 and r.stdout.count(">colour</span>") == 3
    assert "3 colorized" in r.stdout and "1 skipped as not photos" in r.stdout
