"""Colour conversion and quantization of the data contract, against scikit-image on real photos."""
import numpy as np
import skimage.color

from tfrecords import contract as c
from basics.lab import lab_to_rgb, lightness, rgb_to_lab


def test_rgb_to_lab_matches_skimage_on_random_colours():
    rgb = np.random.default_rng(0).integers(0, 256, (5000, 3), dtype=np.uint8)
    ours, theirs = rgb_to_lab(rgb), skimage.color.rgb2lab(rgb[None])[0]
    assert np.abs(ours - theirs).max() < 0.5


def test_rgb_to_lab_matches_skimage_on_real_photos(photos):
    for name, rgb in photos.items():
        assert np.abs(rgb_to_lab(rgb) - skimage.color.rgb2lab(rgb)).max() < 0.5, name


def test_lab_to_rgb_matches_skimage_and_inverts(photos):
    rgb = photos["astronaut"]
    lab = skimage.color.rgb2lab(rgb)
    assert np.abs(lab_to_rgb(lab) - skimage.color.lab2rgb(lab)).max() < 0.5 / 255
    assert np.abs(np.round(lab_to_rgb(rgb_to_lab(rgb)) * 255) - rgb).max() <= 1


def test_uint8_output_equals_the_rounded_exact_curve(photos):
    from basics.lab import lab_to_rgb_uint8
    lab = np.concatenate([rgb_to_lab(photos["flower"]).reshape(-1, 3),
                          np.random.default_rng(1).uniform([0, -110, -110], [100, 110, 110], (20000, 3))])
    exact = np.round(lab_to_rgb(lab) * 255)
    assert np.abs(lab_to_rgb_uint8(lab).astype(int) - exact).max() <= 1
    assert np.abs(lab_to_rgb_uint8(rgb_to_lab(photos["flower"])).astype(int) - photos["flower"]).max() <= 1


def test_lightness_table_equals_full_conversion(photos):
    rgb = photos["coffee"]
    assert np.abs(lightness(rgb) - rgb_to_lab(rgb)[..., 0]).max() < 0.02  # Y table: <= 0.014 by design
    grey = rgb[..., 0]
    assert np.abs(lightness(grey) - rgb_to_lab(np.repeat(grey[..., None], 3, -1))[..., 0]).max() < 1e-3


def test_quantization_round_trip_within_half_a_lab_unit(photos):
    lab = np.concatenate([rgb_to_lab(p).reshape(-1, 3) for p in photos.values()])
    l_err = np.abs(c.dequantize_l(c.quantize_l(lab[:, 0])) - lab[:, 0]).max()
    ab_err = np.abs(c.dequantize_ab(c.quantize_ab(lab[:, 1:])) - lab[:, 1:]).max()
    assert l_err <= 0.5 and ab_err <= 0.5, (l_err, ab_err)
    # the stated bounds: half a quantization step
    assert l_err <= 0.5 * 100 / 255 + 1e-4 and ab_err <= 0.5 * c.AB_DIVISOR / c.AB_QUANT + 1e-4


def test_whole_srgb_gamut_fits_the_ab_scaling():
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels), -1).reshape(-1, 3)
    assert np.abs(c.scale_ab(rgb_to_lab(cube)[:, 1:])).max() <= 1.0


def test_model_scaling_spans_minus_one_to_one():
    assert c.scale_l(0) == -1 and c.scale_l(100) == 1
    assert np.allclose(c.unscale_ab(c.scale_ab([37.0, -80.0])), [37.0, -80.0])


def test_split_is_deterministic_and_near_the_fraction():
    names = [f"/photos/{i}.jpg" for i in range(4000)]
    first = [c.split_of(n, 0.1) for n in names]
    assert first == [c.split_of(n, 0.1) for n in names]
    assert 0.08 < first.count("val") / len(names) < 0.12


def test_colours_outside_srgb_keep_their_lightness_and_hue():
    """A model may predict ab that no sRGB colour has at that L: clipping RGB would move L by about 5 L* on
    average over the whole Lab box; bringing the chroma in at the colour's own L and hue keeps both."""
    from basics.lab import _lab_to_linear_channels, _linear_to_srgb, lab_to_rgb_uint8, lab_to_rgb_uint16
    lab = np.random.default_rng(3).uniform([0, -110, -110], [100, 110, 110], (100_000, 3)).astype(np.float32)

    def hue(x):
        return np.degrees(np.arctan2(x[..., 2], x[..., 1]))
    for rgb, l_mean, l_max, hue_p99 in ((lab_to_rgb_uint8(lab), 0.1, 0.3, 3.0),
                                        (lab_to_rgb_uint16(lab).astype(np.float64) / 65535, 0.01, 0.1, 0.6),
                                        (lab_to_rgb(lab), 0.01, 0.1, 0.6)):
        back = rgb_to_lab(rgb)
        dl = np.abs(back[:, 0] - lab[:, 0])
        assert dl.mean() < l_mean and dl.max() < l_max, (dl.mean(), dl.max())
        coloured = np.hypot(back[:, 1], back[:, 2]) > 5
        dh = np.abs((hue(back) - hue(lab) + 180) % 360 - 180)[coloured]
        assert np.percentile(dh, 99) < hue_p99
    clipped = np.clip(_linear_to_srgb(np.stack(_lab_to_linear_channels(lab), -1)), 0, 1)
    assert np.abs(rgb_to_lab(clipped)[:, 0] - lab[:, 0]).mean() > 3  # what clipping cost
    # colours already inside are untouched
    cube = np.random.default_rng(4).integers(0, 256, (50_000, 3), dtype=np.uint8)
    assert np.abs(lab_to_rgb_uint8(rgb_to_lab(cube)).astype(int) - cube).max() == 0
