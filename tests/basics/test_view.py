"""One module decides what the network sees of a photo; training, evaluation, colorization and alpha agree."""
import numpy as np
from PIL import Image

from tfrecords import contract as c
from basics import view
from basics.lab import lightness


def test_on_a_square_photo_training_and_inference_see_the_same_pixels(photos):
    rgb = photos["astronaut"]  # 512 x 512
    l_q, _, grey_train = view.training_example(rgb, 128)
    l_run = view.model_input(rgb, 128)[..., 0]
    assert np.abs(c.unscale_l(l_run) - c.dequantize_l(l_q)).max() <= 0.25  # record quantization only
    assert np.array_equal(grey_train, view.inception_input(rgb))


def test_inference_sees_the_whole_photo_squeezed_as_training_sees_a_square_one(photos):
    rgb = photos["coffee"]  # 640 x 400
    squeezed = np.asarray(Image.fromarray(rgb).resize((128, 128), Image.LANCZOS))
    l_q, _, _ = view.training_example(squeezed, 128)  # a square photo: its centre square is all of it
    assert np.abs(c.unscale_l(view.model_input(rgb, 128)[..., 0]) - c.dequantize_l(l_q)).max() <= 0.25


def test_grey_and_colour_photos_give_one_view(photos):
    rgb = photos["chelsea"]
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    a, b = view.model_input(rgb, 64), view.model_input(grey, 64)
    assert a.shape == b.shape == (64, 64, 1)
    assert np.abs(c.unscale_l(a) - c.unscale_l(b)).mean() < 1.5  # Pillow's grey is luma, ours CIE L*


def test_alpha_trains_on_the_view_that_run_colours(photos):
    rgb = photos["rocket"]
    lab = view.whole_photo_lab(rgb, 96)
    assert np.abs(c.scale_l(lab[..., :1]) - view.model_input(rgb, 96)).max() < 0.01
    assert np.abs(lightness(view.square(rgb, 96, view.SQUEEZE)) - lab[..., 0]).max() < 0.05
