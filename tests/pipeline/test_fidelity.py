"""What goes into `colorize run` comes out whole: 16-bit masters stay 16-bit, DPI, alpha, progressive JPEG and
lossy WebP are kept, an ICC profile's colours are managed; and whatever one malformed photo raises fails that
photo alone. Every output is read back from disk by another reader than the one that wrote it."""
import io
import json
import os

import numpy as np
import png
import pytest
import skimage.color
import tifffile
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image, ImageCms

from commands import preprocess as preprocess_command
from commands import run as run_command
from tests.helpers import grey_icc_profile, write

pytestmark = pytest.mark.slow  # runs the real command end to end

MALFORMED = os.path.join(os.path.dirname(__file__), "..", "data", "malformed")


def master16(grey8):
    """A real photo as a 16-bit grey master: upsampled in floating point, so it holds tens of thousands of
    grey levels, as a scanner's 16-bit output does."""
    im = Image.fromarray(grey8.astype(np.float32) * 257.0, "F")
    big = np.asarray(im.resize((im.width * 2, im.height * 2), Image.BICUBIC))
    return np.clip(np.round(big), 0, 65535).astype(np.uint16)


def saved(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def l_of(rgb, peak):
    """L* by scikit-image: the independent reader's lightness."""
    return skimage.color.rgb2lab(rgb.astype(np.float64) / peak)[..., 0]


@pytest.fixture(scope="module")
def archive(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("fidelity")
    grey = np.asarray(Image.fromarray(photos["astronaut"]).convert("L").resize((256, 256)))
    coffee = np.asarray(Image.fromarray(photos["coffee"]).convert("L").resize((300, 200)))
    m16 = master16(grey)
    transparent = np.full(coffee.shape, 255, np.uint8)
    transparent[:, :100] = 0          # a torn-off left third
    transparent[:20, 150:] = 128      # a half-transparent band
    exif = Image.Exif()
    exif[0x010F] = "Archive Scanner Co"  # Make
    exif[0x0112] = 6                     # Orientation: rotated on reading, so the copy must not say it again
    sepia = np.stack([coffee * 1.0, coffee * 0.85, coffee * 0.62], -1).clip(0, 255).astype(np.uint8)
    files = {
        "master16.tif": saved(Image.fromarray(m16), "TIFF", dpi=(300, 300),
                              tiffinfo={271: "Archive Scanner Co", 33432: "(c) Stadtarchiv Köln", 315: "A. Person"}),
        "master16.png": saved(Image.fromarray(m16), "PNG", dpi=(600, 600)),
        "master16 gamma.png": saved(Image.fromarray(m16), "PNG", icc_profile=grey_icc_profile()),
        "scan600.jpg": saved(Image.fromarray(coffee), "JPEG", quality=92, dpi=(600, 600), progressive=True,
                             icc_profile=grey_icc_profile()),
        "baseline.jpg": saved(Image.fromarray(coffee), "JPEG", quality=92),
        "deflate.tif": saved(Image.fromarray(coffee), "TIFF", compression="tiff_adobe_deflate", dpi=(400, 400),
                             exif=exif.tobytes()),
        "alpha.png": saved(Image.merge("LA", [Image.fromarray(coffee), Image.fromarray(transparent)]), "PNG"),
        "lossy.webp": saved(Image.fromarray(coffee), "WEBP", quality=80),
        "lossless.webp": saved(Image.fromarray(coffee), "WEBP", lossless=True),
        "sepia print.jpg": saved(Image.fromarray(sepia), "JPEG", quality=92),
    }
    for name in sorted(os.listdir(MALFORMED)):
        if not name.endswith(".md"):
            with open(os.path.join(MALFORMED, name), "rb") as f:
                files["malformed/" + name] = f.read()
    for rel, data in files.items():
        write(str(root / rel), data)
    out = tmp_path_factory.mktemp("fidelity_out") / "colour"
    report = run_command.job(["--input", str(root), "--output", str(out)],
                             test_pipeline=TestPipeline(runner=FnApiRunner()))
    return root, out, files, {"m16": m16, "coffee": coffee, "transparent": transparent}, report


def test_sixteen_bit_masters_give_sixteen_bit_colour_masters_with_their_lightness(archive):
    root, out, _, made, _ = archive
    m16 = made["m16"]
    truth = l_of(np.repeat(m16[..., None], 3, -1), 65535)
    tiff = tifffile.TiffFile(str(out / "master16.tif"))
    page = tiff.pages[0]
    colour_tif = page.asarray()
    assert colour_tif.dtype == np.uint16 and colour_tif.shape == m16.shape + (3,)
    assert page.tags["XResolution"].value == (300, 1) and page.tags["ResolutionUnit"].value == 2
    source = tifffile.TiffFile(str(root / "master16.tif")).pages[0].tags
    for tag in ("Make", "Copyright", "Artist"):  # the descriptive tags, byte for byte
        assert page.tags[tag].value == source[tag].value, tag
    assert "Software" not in page.tags
    width, height, rows, meta = png.Reader(filename=str(out / "master16.png")).asDirect()
    colour_png = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(height, width, 3)
    assert meta["bitdepth"] == 16 and (width, height) == (m16.shape[1], m16.shape[0])
    assert Image.open(out / "master16.png").info["dpi"] == pytest.approx((600, 600), abs=0.01)
    for colour in (colour_tif, colour_png):
        assert np.hypot(*skimage.color.rgb2lab(colour / 65535.0)[..., 1:].transpose(2, 0, 1)).mean() > 3  # coloured
        err = np.abs(l_of(colour, 65535) - truth)
        # 8 bits would cost up to 0.2 L units (L steps of 100/255 around mid-grey); 16 bits keep it within
        # 0.01 wherever the colour is in sRGB's gamut (a colour clipped to it changes its lightness too).
        in_gamut = ((colour > 0) & (colour < 65535)).all(-1)
        assert in_gamut.mean() > 0.8 and np.percentile(err[in_gamut], 99.9) < 0.01, np.percentile(err[in_gamut], 99.9)
        assert len(np.unique(colour[..., 1])) > 20_000  # far more than 256 levels


def test_a_sixteen_bit_master_with_a_grey_profile_keeps_the_lightness_its_profile_means(archive):
    """Its levels mean Y = (v / 65535) ** gamma (Gray Gamma 2.2, stored as 563/256), not sRGB's curve: the 16-bit
    copy's L is that lightness, within 0.02 L*, where the sRGB reading would be off by several L in the shadows."""
    _, out, _, made, _ = archive
    m16 = made["m16"]
    y = (m16 / 65535.0) ** (563 / 256)
    managed = np.where(y > 216 / 24389, 116 * np.cbrt(y) - 16, 24389 / 27 * y)
    naive = l_of(np.repeat(m16[..., None], 3, -1), 65535)
    width, height, rows, meta = png.Reader(filename=str(out / "master16 gamma.png")).asDirect()
    colour = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(height, width, 3)
    assert meta["bitdepth"] == 16
    in_gamut = ((colour > 0) & (colour < 65535)).all(-1)
    err = np.abs(l_of(colour, 65535) - managed)
    dark = (m16 < 60 * 257) & in_gamut
    assert dark.sum() > 500 and np.abs(managed - naive)[dark].mean() > 2
    # Darker in sRGB terms than the plain master, so more of its colours clip at sRGB's edge: 0.7, not 0.8.
    assert in_gamut.mean() > 0.7 and np.percentile(err[in_gamut], 99.9) < 0.02, np.percentile(err[in_gamut], 99.9)
    assert "sRGB" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(
        io.BytesIO(Image.open(out / "master16 gamma.png").info["icc_profile"])))


def test_dpi_progressive_jpeg_and_a_grey_profile_come_through_colour_managed(archive):
    _, out, _, made, _ = archive
    scan = Image.open(out / "scan600.jpg")
    assert scan.info["dpi"] == (600, 600) and scan.info.get("progressive")
    assert not Image.open(out / "baseline.jpg").info.get("progressive")
    profile = ImageCms.ImageCmsProfile(io.BytesIO(scan.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)  # the copy's profile describes its pixels
    # The input's grey levels mean Y = (v / 255) ** 2.2 (its Gray Gamma 2.2 profile), not sRGB's curve: the copy
    # keeps that lightness. In the shadows the two readings differ by several L units.
    v = made["coffee"].astype(np.float64) / 255.0
    y = v ** 2.2
    managed = np.where(y > 0.008856, 116 * np.cbrt(y) - 16, 903.3 * y)
    naive = l_of(np.repeat(made["coffee"][..., None], 3, -1), 255)
    got = l_of(np.asarray(scan.convert("RGB")), 255)
    dark = made["coffee"] < 60
    assert dark.sum() > 500 and np.abs(managed - naive)[dark].mean() > 2
    assert np.abs(got - managed)[dark].mean() < 1.0 and np.abs(got - managed).mean() < 1.0


def test_a_tiff_keeps_its_compression_resolution_and_descriptive_tags(archive):
    _, out, _, made, _ = archive
    tiff = Image.open(out / "deflate.tif")
    assert tiff.size == (200, 300)  # upright: its orientation applied
    assert tiff.info["compression"] == "tiff_adobe_deflate" and tiff.info["dpi"] == (400, 400)
    assert tiff.tag_v2[271] == "Archive Scanner Co" and 274 not in tiff.tag_v2


def test_alpha_is_kept_and_webp_keeps_its_kind_of_compression(archive):
    root, out, _, made, _ = archive
    rgba = Image.open(out / "alpha.png")
    assert rgba.mode == "RGBA" and rgba.size == (300, 200)
    np.testing.assert_array_equal(np.asarray(rgba)[..., 3], made["transparent"])
    for name, lossless in (("lossy.webp", False), ("lossless.webp", True)):
        data = (out / name).read_bytes()
        assert (b"VP8L" in data) is lossless and (b"VP8 " in data) is not lossless
    assert (out / "lossy.webp").stat().st_size < 2 * (root / "lossy.webp").stat().st_size


def test_whatever_a_malformed_photo_raises_it_is_a_listed_failure_and_the_run_goes_on(archive):
    _, out, files, _, report = archive
    n = report.to_json()["counts"]
    assert n["matched"] == len(files) == n["colorized"] + n["failed"] + n["skipped_done"] + n["skipped_not_image"]
    with open(out / "_failures.jsonl", encoding="utf-8") as f:
        failed = {line["path"]: line["reason"] for line in map(json.loads, f)}
    assert len(failed) == n["failed"]
    malformed = {rel for rel in files if rel.startswith("malformed/")}
    broken = {rel for rel in malformed if "decodes" not in rel}
    assert set(failed) == broken  # the rest, sixteen-bit and sepia included, was colorized
    for rel in malformed - broken:
        assert (out / rel.replace(".gif", ".png")).is_file()
    assert all(reason and "\n" not in reason and "Traceback" not in reason for reason in failed.values())
    # A kind no list of error classes named: Pillow's SyntaxError from a broken TIFF header inside a JPEG's EXIF,
    # raised while the copy is written, its pixels already made.
    syntax = {rel for rel in broken if "SyntaxError" in rel}
    assert syntax and all(failed[rel].startswith("SyntaxError: not a TIFF file") for rel in syntax)
    assert all(failed[rel] == "cannot read its frames: Missing dimensions" for rel in broken if "TypeError" in rel)
    # Inputs that carried colour, their tint replaced, and the report says so: the sepia print, and three
    # mutants whose changed bytes put colour into them (a BMP's and a GIF's palette, a WebP's chroma); never
    # the grey ones, the grey JPEG whose profile makes its pixels RGB included.
    assert report.had_colour == 4
    assert json.loads((out / "_report.json").read_text())["had_colour"] == 4


def test_preprocess_counts_every_malformed_photo(tmp_path):
    info = preprocess_command.job(["--input", MALFORMED, "--output", str(tmp_path / "records"), "--image-size", "32",
                                   "--embedding", "none"], test_pipeline=TestPipeline(runner=FnApiRunner()))
    n = info["counts"]
    names = os.listdir(MALFORMED)  # SOURCES.md too: a skipped file that is no image
    assert n["matched"] == len(names) == n["written"] + n["skipped"] + n["failed"]
    with open(info["failures"], encoding="utf-8") as f:
        failed = {line["path"]: line["reason"] for line in map(json.loads, f)}
    assert len(failed) == n["failed"] >= sum("ImageError" in f for f in names)
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert {f for f in names if "ImageError" in f} <= {os.path.basename(path) for path in failed}
