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


def test_compiled_forward_pads_short_batches_and_gives_the_models_own_output():
    """Any batch length gives the model's own rows; where each shape compiles anew (JAX), only power-of-two
    shapes up to the batch size reach it."""
    import keras
    from model.inference import Compiled
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 3, padding="same")(inp))
    seen = []
    compiled = Compiled(model, batch_size=8)
    forward = compiled._forward
    compiled._forward = lambda x: (seen.append(len(x)), forward(x))[1]
    x = np.random.default_rng(0).standard_normal((19, 4, 4, 1)).astype(np.float32)
    for n in (1, 3, 5, 8, 19):
        np.testing.assert_allclose(compiled(x[:n]), np.asarray(model(x[:n])), atol=1e-5)
    if keras.backend.backend() == "tensorflow":  # one trace serves every length: nothing is padded
        assert seen == [1, 3, 5, 8, 8, 8, 3]
    else:  # a compile per shape: short batches padded to powers of two
        assert set(seen) <= {1, 2, 4, 8} and seen[:3] == [1, 4, 8]


def test_compiled_forward_on_an_accelerator_pads_every_batch_to_one_shape(monkeypatch):
    """On a GPU (JAX) a padded row is nearly free and a compile is not: every batch reaches the model at
    the batch size, so each worker compiles once."""
    import keras
    from model import inference
    monkeypatch.setattr(inference, "_on_accelerator", lambda: True)
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 3, padding="same")(inp))
    seen = []
    compiled = inference.Compiled(model, batch_size=8)
    forward = compiled._forward
    compiled._forward = lambda x: (seen.append(len(x)), forward(x))[1]
    x = np.random.default_rng(1).standard_normal((11, 4, 4, 1)).astype(np.float32)
    for n in (1, 3, 11):
        np.testing.assert_allclose(compiled(x[:n]), np.asarray(model(x[:n])), atol=1e-5)
    expected = [1, 3, 8, 3] if keras.backend.backend() == "tensorflow" else [8, 8, 8, 8]
    assert seen == expected
