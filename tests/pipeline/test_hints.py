"""Colour hints: the hints file checked before any work, hints carried to the model and into each copy's record,
a rerun that redoes exactly the photos whose hints changed, and the gallery's review page in a real browser."""
import html
import json
import os
import re
import subprocess

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image

from commands import run as run_command
from model import hints as hinting
from pipeline import gallery, hintsfile, review
from tests.commands.test_watch_and_review import chromium
from tests.helpers import jpeg_bytes, write


def run(*args):
    return run_command.job(list(args), test_pipeline=TestPipeline(runner=FnApiRunner()))


def hints_file(path, *entries):
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return str(path)


@pytest.mark.parametrize("line, says", [
    ('{"path": "a.jpg", "points": [[0.5, 0.5, "#ff0000"]]', "line 2: Expecting"),
    ('{"path": "nowhere.jpg", "points": [[0.5, 0.5, "#ff0000"]]}', "line 2: 'nowhere.jpg' is not a photo of --input"),
    ('{"path": "a.jpg", "points": [[1.5, 0.5, "#ff0000"]]}', "line 2: point 1's x 1.5 is outside the photo"),
    ('{"path": "a.jpg", "points": [[0.5, -0.1, "#ff0000"]]}', "line 2: point 1's y -0.1 is outside the photo"),
    ('{"path": "a.jpg", "points": [[0.5, 0.5, "red"]]}', "line 2: point 1's colour 'red' is not #rrggbb or #rgb"),
    ('{"path": "a.jpg", "points": [[0.5, 0.5]]}', 'line 2: point 1 is not \\[x, y, "#rrggbb"\\]'),
    ('{"path": "a.jpg", "pionts": []}', 'line 2: not {"path"'),
    ('["a.jpg"]', 'line 2: not {"path"'),
])
def test_a_bad_hints_line_is_one_error_naming_its_line(tmp_path, line, says):
    path = tmp_path / "hints.jsonl"
    path.write_text('{"path": "b.jpg", "points": [[0.1, 0.2, "#00f"]]}\n' + line + "\n")
    with pytest.raises(hintsfile.HintsError, match=f"hints.jsonl {says}") as e:
        hintsfile.read(str(path), {"a.jpg", "b.jpg"})
    assert "\n" not in str(e.value)


def test_a_hints_file_reads_to_points_with_the_colours_hue_and_chroma(tmp_path):
    path = hints_file(tmp_path / "h.jsonl", {"path": "a.jpg", "points": [[0.25, 0.75, "#1f3a93"], [1, 0, "#FF0"]]},
                      {"path": "z.zip!in/b.jpg", "points": [[0, 1, "#808080"]]}, {"path": "c.jpg", "points": []})
    got = hintsfile.read(path, {"a.jpg", "c.jpg"}, {"z.zip"})
    assert set(got) == {"a.jpg", "z.zip!in/b.jpg"}  # a photo with no points has no hints
    (x, y, a, b, hex_), (_, _, a2, b2, hex2) = got["a.jpg"]
    assert (x, y, hex_, hex2) == (0.25, 0.75, "#1f3a93", "#ffff00")
    assert np.degrees(np.arctan2(b, a)) % 360 == pytest.approx(294.5, abs=1)  # navy: a blue hue
    assert np.hypot(a, b) > 40 and b2 > 80  # strong colours; yellow's b
    grey = got["z.zip!in/b.jpg"][0]
    assert abs(grey[2]) < 0.5 and abs(grey[3]) < 0.5
    plane = hinting.draw(got["a.jpg"], 64, 64)
    assert plane[..., 2].sum() == 9 + 4  # a 3 x 3 square each, the corner point's cut by the edge
    assert plane[48, 16, 2] == 1 and plane[0, 63, 2] == 1


def plain_model(model_dir, size=64):
    """A model without a hints input (one 1x1 convolution of L)."""
    import keras
    from model import modeldir
    l_in = keras.Input((size, size, 1))
    os.makedirs(model_dir)
    keras.Model(l_in, keras.layers.Conv2D(2, 1, activation="tanh")(l_in)).save(os.path.join(model_dir, "model.keras"))
    modeldir.write_card(str(model_dir), {"architecture": "beta", "image_size": size, "head": "regression"})
    return str(model_dir)


def hints_model(model_dir, size=64):
    """The shipped network's shape with a hints input, small and untrained (its colours are noise; the plumbing is
    what is tested here)."""
    from model import modeldir, networks, quantized
    net = networks.build("beta", size, head="classification", encoder="efficientnet-lite0", imagenet=False,
                         hints=True)
    os.makedirs(model_dir)
    quantized.inference_model(net).save(os.path.join(model_dir, "model.keras"))
    modeldir.write_card(str(model_dir), {"architecture": "beta", "image_size": size, "head": "classification",
                                         "hints": True})
    return str(model_dir)


def test_a_model_without_hints_and_a_bad_line_refuse_before_any_work(tmp_path, photos):
    write(str(tmp_path / "in" / "a.jpg"), jpeg_bytes(photos["chelsea"]))
    good = hints_file(tmp_path / "h.jsonl", {"path": "a.jpg", "points": [[0.5, 0.5, "#ff0000"]]})
    with pytest.raises(hintsfile.HintsError, match="takes no colour hints"):
        run("--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--hints", good,
            "--model", plain_model(tmp_path / "plain"))
    bad = hints_file(tmp_path / "bad.jsonl", {"path": "a.jpg", "points": [[0.5, 2, "#ff0000"]]})
    with pytest.raises(hintsfile.HintsError, match="bad.jsonl line 1: point 1's y 2 is outside the photo"):
        run("--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--hints", bad,
            "--model", hints_model(tmp_path / "hinted"))
    assert not (tmp_path / "out").exists()


def four_photos(root, photos):
    for i, name in enumerate(("chelsea", "coffee", "astronaut", "rocket")):
        grey = np.asarray(Image.fromarray(photos[name]).convert("L"))
        write(str(root / ("sub" if i % 2 else "") / f"{name}.jpg"), jpeg_bytes(grey))
    return root


@pytest.mark.slow
def test_a_rerun_redoes_exactly_the_photos_whose_hints_changed(tmp_path, photos):
    src, out = four_photos(tmp_path / "in", photos), tmp_path / "out"
    model = hints_model(tmp_path / "hinted")
    assert run("--input", str(src), "--output", str(out), "--model", model).counts.colorized == 4
    before = {p: p.read_bytes() for p in out.rglob("*.jpg") if gallery.FOLDER not in p.parts}
    h1 = hints_file(tmp_path / "h1.jsonl", {"path": "sub/coffee.jpg", "points": [[0.5, 0.5, "#0000ff"]]})
    report = run("--input", str(src), "--output", str(out), "--model", model, "--hints", h1)
    assert (report.counts.colorized, report.counts.skipped_done) == (1, 3)
    done = json.loads((out / "_done" / "sub" / "coffee.jpg.json").read_text())
    assert done["hints"] == [[0.5, 0.5, *hintsfile.colour_ab("#0000ff"), "#0000ff"]]
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    assert changed == [out / "sub" / "coffee.jpg"]  # the hint reached the model: the copy's colours moved
    again = run("--input", str(src), "--output", str(out), "--model", model, "--hints", h1)
    assert (again.counts.colorized, again.counts.skipped_done) == (0, 4)
    h2 = hints_file(tmp_path / "h2.jsonl", {"path": "sub/coffee.jpg", "points": [[0.5, 0.5, "#00ff00"]]},
                    {"path": "chelsea.jpg", "points": [[0.1, 0.9, "#ffcc00"]]})
    moved = run("--input", str(src), "--output", str(out), "--model", model, "--hints", h2)
    assert (moved.counts.colorized, moved.counts.skipped_done) == (2, 2)
    dropped = run("--input", str(src), "--output", str(out), "--model", model)  # without hints: those two redone
    assert (dropped.counts.colorized, dropped.counts.skipped_done) == (2, 2)
    assert "hints" not in json.loads((out / "_done" / "chelsea.jpg.json").read_text())


PIN = """<script>
// The browser's own download cannot finish in a headless dump: the link the save button clicks is caught here, and
// the file it would download read back from its blob URL.
HTMLAnchorElement.prototype.click = function () {
  const name = this.download;
  fetch(this.href).then(r => r.text()).then(t => {
    document.body.setAttribute('data-saved-name', name);
    document.body.setAttribute('data-saved', t);
  });
};
window.addEventListener('load', () => {
  const img = document.getElementById('photo');
  const go = () => {
    document.getElementById('next').click();                      // to the second photo and back to the first
    document.getElementById('prev').click();
    document.getElementById('colour').value = '#2e8b57';
    const r = img.getBoundingClientRect();
    img.dispatchEvent(new MouseEvent('click', {clientX: r.left + 0.3 * r.width, clientY: r.top + 0.6 * r.height,
                                              bubbles: true}));
    document.getElementById('save').click();
    document.body.setAttribute('data-done', document.querySelectorAll('.dot').length);
  };
  if (img.complete && img.naturalWidth) go(); else img.addEventListener('load', go, {once: true});
});
</script>"""


@pytest.mark.slow
def test_a_reviewer_pins_a_colour_in_a_real_browser_and_the_rerun_redoes_that_photo(tmp_path, photos):
    browser = chromium()
    src, out = four_photos(tmp_path / "in", photos), tmp_path / "out"
    (src / "<img src=x onerror=alert(1)>.jpg").write_bytes((src / "chelsea.jpg").read_bytes())  # a name that must stay text
    model = hints_model(tmp_path / "hinted")
    assert run("--input", str(src), "--output", str(out), "--model", model).counts.colorized == 5
    index = (out / gallery.INDEX).read_text()
    assert "_gallery/review-1.html#1" in index and "<img src=x" not in index
    page = out / gallery.FOLDER / "probe.html"  # beside the review page, so its relative links hold
    page.write_text((out / gallery.FOLDER / review.NAME.format(1)).read_text().replace("</body>", PIN + "</body>"))
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                        "--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom", f"file://{page}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'data-done="1"' in r.stdout, r.stdout[-3000:]
    assert "<img src=x" not in r.stdout  # the odd name was shown as text
    assert 'data-saved-name="hints.jsonl"' in r.stdout
    saved = html.unescape(re.search(r'data-saved="([^"]*)"', r.stdout).group(1))
    assert saved == html.unescape(re.search(r'<pre id="hints-file">(.*?)</pre>', r.stdout, re.S).group(1))
    (tmp_path / "hints.jsonl").write_text(saved)
    [entry] = [json.loads(line) for line in saved.splitlines()]
    assert entry["path"] == "<img src=x onerror=alert(1)>.jpg" and entry["points"][0][2] == "#2e8b57"
    x, y, _ = entry["points"][0]
    assert abs(x - 0.3) < 0.02 and abs(y - 0.6) < 0.02
    report = run("--input", str(src), "--output", str(out), "--model", model, "--hints", str(tmp_path / "hints.jsonl"))
    assert (report.counts.colorized, report.counts.skipped_done) == (1, 4)
    assert json.loads((out / "_done" / "<img src=x onerror=alert(1)>.jpg.json").read_text())["hints"][0][4] == "#2e8b57"
    page = (out / gallery.FOLDER / review.NAME.format(1)).read_text()
    assert "#2e8b57" in page  # the next review starts there
    assert f"--model {model} --hints hints.jsonl" in page  # the command to rerun names the run's own model


@pytest.mark.parametrize("name, x, y, colour", [("rocket", 0.2, 0.2, "#ff851b"), ("coffee", 0.5, 0.05, "#0074d9")])
def test_one_point_turns_its_region_to_the_hint_and_leaves_a_distant_one(photos, name, x, y, colour):
    """The shipped model: one orange point in the rocket's night sky, one blue point on the coffee's wooden table.
    Around the point the colour copy takes the hint's hue (within 30 degrees), where the model alone chose
    another; the far end of the photo keeps the colours of the run without hints."""
    from basics.lab import rgb_to_lab
    from model import inference, modeldir
    model, card = modeldir.load(None)
    assert card["hints"] is True
    grey = np.repeat(np.asarray(Image.fromarray(photos[name]).convert("L"))[..., None], 3, axis=-1)
    a, b = hintsfile.colour_ab(colour)
    plain = rgb_to_lab(inference.colorize_pixels(model, grey, card["image_size"]))
    pinned = rgb_to_lab(inference.colorize_pixels(model, grey, card["image_size"], points=[(x, y, a, b)]))
    h, w = grey.shape[:2]
    near = (slice(max(0, int(y * h) - 20), int(y * h) + 20), slice(max(0, int(x * w) - 20), int(x * w) + 20))

    def hue_gap(lab):
        mean_a, mean_b = lab[near][..., 1].mean(), lab[near][..., 2].mean()
        return abs((np.degrees(np.arctan2(mean_b, mean_a) - np.arctan2(b, a)) + 180) % 360 - 180)
    assert hue_gap(plain) > 45 and hue_gap(pinned) < 30
    far = slice(int(0.85 * h), h)
    assert np.abs(plain[far, :, 1:] - pinned[far, :, 1:]).mean() < 1.0
