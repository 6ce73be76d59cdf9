"""Full-resolution merge: the photo's own L with upsampled ab, strip by strip."""
import numpy as np

from model import inference
from tfrecords.lab import lightness, rgb_to_lab


def test_strips_upsample_exactly_like_the_whole_image():
    ab = np.random.default_rng(0).normal(0, 30, (64, 64, 2)).astype(np.float32)
    whole = inference.upsample_ab(ab, 900, 1300)
    strips = np.concatenate([inference.upsample_ab(ab, 900, 1300, range(y, y + inference.STRIP_ROWS))
                             for y in range(0, 1300, inference.STRIP_ROWS)])
    assert strips.shape == whole.shape == (1300, 900, 2)
    assert np.abs(strips - whole).max() < 1e-3


def test_merge_keeps_the_photos_own_lightness_and_takes_the_colour(photos):
    rgb = photos["astronaut"]
    small_ab = rgb_to_lab(rgb[::8, ::8])[..., 1:]
    out = inference.merge(lightness(rgb), small_ab)
    assert out.shape == rgb.shape
    assert np.abs(lightness(out) - lightness(rgb)).mean() < 1.0
    assert np.abs(rgb_to_lab(out)[..., 1:] - rgb_to_lab(rgb)[..., 1:]).mean() < 6  # colour from 1/8 scale
