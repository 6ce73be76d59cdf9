"""Decoding every awkward kind of photo: each is usable, skipped with a reason, or fails with one."""
import numpy as np
import pytest

from tests.helpers import bad_inputs
from PIL import Image

from basics import photos as images, view
from tfrecords import contract as c


@pytest.fixture(scope="module")
def inputs(photos):
    return bad_inputs(photos)


@pytest.mark.parametrize("name, reason", [
    ("broken/zero.jpg", "empty file"),
    ("broken/truncated.jpg", "cannot decode image: the file is cut short, its image data ends early"),
    ("broken/text.jpg", "not a readable image"),
    ("broken/bomb.png", "exceeds the limit"),
])
def test_broken_files_fail_with_a_one_line_reason(inputs, name, reason):
    with pytest.raises(images.ImageError) as e:
        images.decode_rgb(inputs[name])
    assert reason in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["modes/alpha.png", "modes/palette.gif", "modes/sixteen_bit.png",
                                  "modes/cmyk.jpg", "modes/rotated.jpg", "names/with space é ü.jpg"])
def test_every_mode_becomes_8_bit_rgb(inputs, name):
    rgb = images.decode_rgb(inputs[name])
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_sixteen_bit_keeps_its_tones(inputs, photos):
    grey = images.decode_rgb(inputs["modes/sixteen_bit.png"])[..., 0]
    assert np.abs(grey.astype(int) - photos["astronaut"][..., 1]).max() <= 1


def test_alpha_is_composited_on_white(inputs, photos):
    rgb = images.decode_rgb(inputs["modes/alpha.png"]).astype(int)
    expected = (photos["chelsea"].astype(int) * 128 + 255 * 127) // 255
    assert np.abs(rgb - expected).max() <= 2


def test_exif_rotation_gives_an_upright_photo(inputs, photos):
    rgb = images.decode_rgb(inputs["modes/rotated.jpg"])
    assert rgb.shape == photos["chelsea"].shape
    assert np.abs(rgb.astype(int) - photos["chelsea"]).mean() < 4


def test_greyscale_and_tiny_photos_are_skipped_not_failed(inputs):
    for name, reason in (("modes/greyscale.jpg", "no colour"), ("modes/tiny.png", "too small")):
        with pytest.raises(images.SkipImage, match=reason):
            view.training_example(images.decode_rgb(inputs[name]), 64)


def test_training_example_is_compact_and_in_range(photos):
    l_q, ab_q, grey = view.training_example(photos["astronaut"], c.DEFAULT_IMAGE_SIZE)
    assert l_q.shape == (224, 224) and ab_q.shape == (224, 224, 2) and grey.shape == (299, 299, 3)
    # Deep Koalarization stored float32 L, ab and embedding: ~606 KB a 224x224 image; ours at most a third
    assert l_q.nbytes + ab_q.nbytes + 4 * c.INCEPTION_DIM <= 606_000 / 3
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()


def test_draft_decoding_keeps_the_aspect_ratio(photos):
    from tests.helpers import jpeg_bytes
    big = np.asarray(Image.fromarray(photos["coffee"]).resize((1600, 1200)))
    small = images.decode_rgb(jpeg_bytes(big), draft_size=300)
    assert small.shape[0] * 4 == small.shape[1] * 3 and min(small.shape[:2]) >= 300


def test_a_grey_profiles_tone_curve_is_read_from_its_bytes():
    """kTRC as one gamma, as a table, and as sRGB's parametric curve (type 3), checked against the formulas; a
    profile that is not grey, or whose tag is cut short, gives None (the pixels are then read as sRGB)."""
    import struct
    from tests.helpers import grey_icc_profile
    x = np.linspace(0, 1, 101)
    assert np.allclose(images.grey_curve(grey_icc_profile(1.8))(x), x ** (461 / 256))
    table = np.round(65535 * x ** 2.0).astype(">u2")
    curv = b"curv\0\0\0\0" + struct.pack(">I", len(table)) + table.tobytes()
    assert np.allclose(images.grey_curve(grey_icc_profile(curve=curv))(x), x ** 2.0, atol=1e-4)

    def s15(v):
        return struct.pack(">i", round(v * 65536))
    g, a, b, c, d = 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045
    para = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(map(s15, (g, a, b, c, d)))
    srgb = np.where(x >= d, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    assert np.allclose(images.grey_curve(grey_icc_profile(curve=para))(x), srgb, atol=1e-4)
    rgb = bytearray(grey_icc_profile())
    rgb[16:20] = b"RGB "
    assert images.grey_curve(bytes(rgb)) is None
    assert images.grey_curve(grey_icc_profile(curve=b"curv\0\0\0\0\0\0\0\x09\0")) is None  # a table cut short
    assert images.grey_curve(b"not a profile") is None
