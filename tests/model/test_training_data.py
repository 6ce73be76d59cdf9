"""The trainer's augmentation: one crop-and-resize on NumPy (JAX, PyTorch) and on tf.data, the same maths."""
import numpy as np

from model.training_data import ZOOM_RANGE, crop_and_resize, zoom_boxes


def test_numpy_crop_and_resize_matches_tensorflow(photos):
    import tensorflow as tf
    from basics import view
    images = np.stack([view.square(photos[n], 48, view.CROP) for n in ("astronaut", "coffee", "chelsea")])
    images = images.astype(np.float32) / 255
    boxes = zoom_boxes(np.random.default_rng(3), len(images))
    sides = boxes[:, 2] - boxes[:, 0]
    assert np.all((sides >= ZOOM_RANGE[0]) & (sides <= ZOOM_RANGE[1])) and np.all(boxes >= 0) and np.all(boxes <= 1)
    ours = crop_and_resize(images, boxes)
    theirs = tf.image.crop_and_resize(images, boxes, np.arange(len(images)), [48, 48]).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    whole = np.tile(np.array([[0, 0, 1, 1]], np.float32), (len(images), 1))
    np.testing.assert_allclose(crop_and_resize(images, whole), images, atol=1e-5)  # the whole square: unchanged
