"""Full-resolution merge: the photo's own L with upsampled ab, strip by strip."""
import numpy as np

from model import inference
from basics.lab import lightness, rgb_to_lab


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


THREADED_CALLS = r"""
import sys, threading
import numpy as np
import keras
sys.path.insert(0, sys.argv[1])
from model.inference import Compiled
inp = keras.Input((16, 16, 1))
model = keras.Model(inp, keras.layers.Conv2D(8, 3, padding="same")(keras.layers.Conv2D(8, 3, padding="same")(inp)))
compiled = Compiled(model, batch_size=8)
x = np.random.default_rng(2).standard_normal((64, 8, 16, 16, 1)).astype(np.float32)
want = [np.asarray(model(b)) for b in x]
errors = []
def client(k):
    for i in range(k, 64, 8):
        try:
            np.testing.assert_allclose(compiled(x[i]), want[i], atol=1e-4)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0]}")
threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(f"{len(errors)} errors", errors[:1])
"""


def test_a_shared_compiled_model_serves_many_threads_at_once_on_jax():
    """A model shared by a machine's workers (--share-model) is called from a thread per client at once.
    Keras' JAX predict step updates the model's state buffers in place, so two calls at once used to end
    in 'Buffer has been deleted or donated'; every call must give its own batch's rows."""
    import subprocess
    import sys
    root = __file__.rsplit("/tests/", 1)[0]
    r = subprocess.run([sys.executable, "-c", THREADED_CALLS, root], capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "KERAS_BACKEND": "jax"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "0 errors []", r.stdout
